import type { PartnerId } from './ids.js';
import type { LeafRule } from './valueChecks.js';

/*
 * The terms the authorship rule table (authorshipRules.ts) is written in: containers and their
 * fields, who may write or remove each, what is set once. The fast checker (AuthorshipCheck)
 * reads the table for the structs of an update, the replica oracle for plain snapshots.
 */

/** Who may write a place, relative to the partner who owns the record it is in. */
export const Who = {
  /** Either partner: shared things. */
  anyone: 'anyone',
  /** Only the partner who owns the record (their check-in, answer, acceptance, name...). */
  owner: 'owner',
  /** Only the partner who does not own it (an acknowledgement of the other's boundary). */
  notOwner: 'not-owner',
  nobody: 'nobody',
} as const;
export type Who = (typeof Who)[keyof typeof Who];

export function may(who: Who, owner: string | null, author: PartnerId): boolean {
  switch (who) {
    case Who.anyone:
      return true;
    case Who.owner:
      return owner === author;
    case Who.notOwner:
      return owner !== null && owner !== author;
    case Who.nobody:
      return false;
    default: {
      const unreachable: never = who;
      return unreachable;
    }
  }
}

/** A Y.Map with fixed fields. `owner` names the field that says whose record it is. */
export interface MapSpec {
  readonly kind: 'map';
  readonly name: string;
  readonly fields: Readonly<Record<string, FieldRule>>;
  /** Fields the update that creates the map must write. */
  readonly required: readonly string[];
  readonly owner?: string;
}

/** A Y.Map keyed by ids. `owner` derives from a key whose entry it is, if entries are owned. */
export interface DictSpec {
  readonly kind: 'dict';
  readonly name: string;
  readonly key: (key: string) => boolean;
  readonly entry: FieldRule;
  readonly owner?: (key: string) => string | null;
  /** At most this many entries. */
  readonly limit?: number;
}

/** A Y.Array that only grows: elements are appended, never changed or deleted. */
export interface ListSpec {
  readonly kind: 'list';
  readonly name: string;
  readonly element: FieldRule;
}

/** A Y.Text of plain characters (no formatting, no embeds). */
export interface TextSpec {
  readonly kind: 'text';
  readonly name: string;
  readonly write: Who;
}

export type ContainerSpec = MapSpec | DictSpec | ListSpec | TextSpec;

/**
 * The record a value is written into, as it will be once the update is in: the map that holds
 * the container the value is written in (a reveal, for a key in its `keys`). Paths are map keys
 * below that record.
 */
export interface RecordView {
  /** The plain value at `path`, or undefined (nothing there, or a Y type). */
  value(path: readonly string[]): unknown;
  /** The keys of the map at `path` that hold a value. */
  keys(path: readonly string[]): readonly string[];
}

/**
 * What a value needs besides its own shape: something else in its record, as it is once the
 * update is in (a reveal's key needs both answers and must open its own answer's commitment).
 * Null when met, else what is missing. It may read only places that are set once or only ever
 * hold equivalent values, so the fast checker and the oracle read the same thing.
 */
export type Requirement = (value: unknown, record: RecordView, author: PartnerId) => string | null;

export interface FieldRule {
  readonly value: LeafRule | ContainerSpec;
  /** Who may insert or overwrite it. */
  readonly write: Who;
  /** Who may remove it without putting a new value in its place; absent: nobody. */
  readonly remove?: Who;
  /** Written by the update that creates its record (or, at the top level, while never set). */
  readonly once?: boolean;
  /** Checked for every value written here, once the rest of the update has passed. */
  readonly requires?: Requirement;
}

/** The rule for an entry of a container: a field of a map, an entry of a dict, a list element. */
export function ruleAt(spec: ContainerSpec, key: string | null): FieldRule | null {
  switch (spec.kind) {
    case 'map':
      return key !== null && Object.hasOwn(spec.fields, key) ? spec.fields[key]! : null;
    case 'dict':
      return key !== null && spec.key(key) ? spec.entry : null;
    case 'list':
      return key === null ? spec.element : null;
    case 'text':
      return key === null ? { value: spec, write: spec.write } : null;
    default: {
      const unreachable: never = spec;
      return unreachable;
    }
  }
}

/** The owner of the entry at `key`, given the owner of the container it is in. */
export function entryOwner(
  spec: ContainerSpec,
  key: string | null,
  containerOwner: string | null,
): string | null {
  return spec.kind === 'dict' && spec.owner && key !== null ? spec.owner(key) : containerOwner;
}
