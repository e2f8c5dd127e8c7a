import { checkinKey } from './checkins.js';
import { isId, type PartnerId } from './ids.js';
import {
  AgreementLifecycle,
  CheckinState,
  Limits,
  MAX_PARTNERS,
  QuestionStatus,
  Role,
  Root,
  SCHEMA_VERSION,
  ThreadItemKind,
} from './schema.js';
import {
  acceptance,
  acknowledgement,
  bool,
  color,
  epoch,
  historyEntry,
  id,
  keepEntry,
  leaf,
  oneOf,
  ownField,
  parseCheckinKey,
  readMarker,
  sameAsKey,
  self,
  textOf,
  type LeafContext,
  type LeafRule,
} from './valueChecks.js';

export type { LeafContext, LeafRule } from './valueChecks.js';
export { parseCheckinKey } from './valueChecks.js';

/*
 * Who may write what in a space, as one table (SPEC.md, "Authorship"): every place a space's
 * document has, what it may hold, who may write or remove it, and whether it is set once. The
 * fast checker (AuthorshipCheck) reads it for the structs of an update, the replica oracle for
 * plain snapshots; anything the table does not name is refused.
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

export interface FieldRule {
  readonly value: LeafRule | ContainerSpec;
  /** Who may insert or overwrite it. */
  readonly write: Who;
  /** Who may remove it without putting a new value in its place; absent: nobody. */
  readonly remove?: Who;
  /** Written by the update that creates its record (or, at the top level, while never set). */
  readonly once?: boolean;
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

// ---- the table

/** The rules of every top-level type; a root not named here is refused. */
function spaceRules(): Readonly<Record<Root, ContainerSpec>> {
  const text = (name: string, write: Who): TextSpec => ({ kind: 'text', name, write });
  const once = (value: LeafRule | ContainerSpec, write: Who = Who.anyone): FieldRule => ({
    value,
    write,
    once: true,
  });

  const PARTNER: MapSpec = {
    kind: 'map',
    name: 'partner',
    fields: {
      id: once(leaf(sameAsKey), Who.owner),
      displayName: { value: leaf(textOf(1, Limits.displayName)), write: Who.owner },
      joinedAt: once(leaf(epoch), Who.owner),
      color: { value: leaf(color), write: Who.owner },
      role: { value: leaf(oneOf(Role)), write: Who.owner, remove: Who.owner },
      lastSeenAt: { value: leaf(epoch), write: Who.owner, remove: Who.owner },
      showsHere: { value: leaf(bool), write: Who.owner },
      showsLastSeen: { value: leaf(bool), write: Who.owner },
    },
    required: ['id', 'displayName', 'joinedAt', 'color'],
  };

  const AGREEMENT: MapSpec = {
    kind: 'map',
    name: 'agreement',
    fields: {
      id: once(leaf(sameAsKey)),
      title: once(text('agreement title', Who.anyone)),
      body: once(text('agreement text', Who.anyone)),
      createdBy: once(leaf(id, self)),
      proposedBy: once(leaf(id, self)),
      createdAt: once(leaf(epoch)),
      lifecycle: { value: leaf(oneOf(AgreementLifecycle)), write: Who.anyone },
      lifecycleBy: { value: leaf(id, self), write: Who.anyone },
      lifecycleAt: { value: leaf(epoch), write: Who.anyone },
      lifecycleReason: {
        value: leaf(textOf(0, Limits.note)),
        write: Who.anyone,
        remove: Who.anyone,
      },
      lifecycleSeenAt: { value: leaf(epoch), write: Who.anyone },
      lastEditedBy: { value: leaf(id, self), write: Who.anyone },
      lastEditedAt: { value: leaf(epoch), write: Who.anyone },
      acceptances: once({
        kind: 'dict',
        name: 'acceptances',
        key: isId,
        entry: { value: leaf(acceptance), write: Who.owner },
        owner: (key) => key,
      }),
      history: once({
        kind: 'list',
        name: 'acceptance history',
        element: { value: leaf(historyEntry, ownField('acceptedBy')), write: Who.anyone },
      }),
      keepLog: once({
        kind: 'list',
        name: 'keep log',
        element: { value: leaf(keepEntry, ownField('partnerId')), write: Who.anyone },
      }),
    },
    required: [
      'id',
      'title',
      'body',
      'createdBy',
      'proposedBy',
      'createdAt',
      'lifecycle',
      'acceptances',
      'history',
      'keepLog',
    ],
  };

  const ANSWER: MapSpec = {
    kind: 'map',
    name: 'answer',
    fields: {
      id: once(leaf(id)),
      kind: once(leaf(oneOf(ThreadItemKind))),
      by: once(leaf(id, self)),
      at: once(leaf(epoch)),
      text: once(text('answer', Who.owner)),
    },
    required: ['id', 'kind', 'by', 'at', 'text'],
    owner: 'by',
  };

  const QUESTION: MapSpec = {
    kind: 'map',
    name: 'question',
    fields: {
      id: once(leaf(sameAsKey)),
      text: once(text('question', Who.owner)),
      askedBy: once(leaf(id, self)),
      askedAt: once(leaf(epoch)),
      askAgainOf: once(leaf(id)),
      status: { value: leaf(oneOf(QuestionStatus)), write: Who.anyone },
      closedBy: { value: leaf(id, self), write: Who.anyone, remove: Who.anyone },
      closedAt: { value: leaf(epoch), write: Who.anyone, remove: Who.anyone },
      closedReason: { value: leaf(textOf(0, Limits.note)), write: Who.anyone, remove: Who.anyone },
      closedSeenAt: { value: leaf(epoch), write: Who.anyone },
      answers: once({
        kind: 'list',
        name: 'thread',
        element: { value: ANSWER, write: Who.anyone },
      }),
      readMarkers: once({
        kind: 'dict',
        name: 'read markers',
        key: isId,
        entry: { value: leaf(readMarker), write: Who.owner },
        owner: (key) => key,
      }),
    },
    required: ['id', 'text', 'askedBy', 'askedAt', 'status', 'answers', 'readMarkers'],
    owner: 'askedBy',
  };

  const keyPart =
    (part: 'date' | 'partnerId') =>
    (v: unknown, c: LeafContext): string | null =>
      c.recordKey !== null && parseCheckinKey(c.recordKey)?.[part] === v
        ? null
        : `the ${part} of the check-in's key`;

  const CHECKIN: MapSpec = {
    kind: 'map',
    name: 'check-in',
    fields: {
      date: once(leaf(keyPart('date')), Who.owner),
      partnerId: once(leaf(keyPart('partnerId'), self), Who.owner),
      createdAt: once(leaf(epoch), Who.owner),
      note: { value: leaf(textOf(0, Limits.note)), write: Who.owner },
      safety: {
        value: leaf((v) =>
          Number.isInteger(v) &&
          (v as number) >= Limits.safetyMin &&
          (v as number) <= Limits.safetyMax
            ? null
            : `a whole number from ${Limits.safetyMin} to ${Limits.safetyMax}`,
        ),
        write: Who.owner,
      },
      state: { value: leaf(oneOf(CheckinState)), write: Who.owner },
      updatedAt: { value: leaf(epoch), write: Who.owner },
    },
    required: ['date', 'partnerId', 'createdAt', 'note', 'safety', 'state', 'updatedAt'],
  };

  const BOUNDARY: MapSpec = {
    kind: 'map',
    name: 'boundary',
    fields: {
      id: once(leaf(sameAsKey)),
      owner: once(leaf(id, self)),
      createdBy: once(leaf(id, self)),
      createdAt: once(leaf(epoch)),
      text: { value: leaf(textOf(1, Limits.boundaryText)), write: Who.owner },
      updatedAt: { value: leaf(epoch), write: Who.owner },
      // The other partner's; the owner's edit clears it (SPEC.md 19).
      acknowledgement: {
        value: leaf(acknowledgement, ownField('by')),
        write: Who.notOwner,
        remove: Who.owner,
      },
    },
    required: ['id', 'owner', 'createdBy', 'createdAt', 'text', 'updatedAt'],
    owner: 'owner',
  };

  return {
    [Root.space]: {
      kind: 'map',
      name: 'space',
      fields: {
        name: { value: leaf(textOf(0, Limits.spaceName)), write: Who.anyone },
        createdAt: once(leaf(epoch)),
        schemaVersion: once(
          leaf((v) => (v === SCHEMA_VERSION ? null : `schema version ${SCHEMA_VERSION}`)),
        ),
      },
      required: [],
    },
    [Root.partners]: {
      kind: 'dict',
      name: 'partners',
      key: isId,
      // A partner writes their own record, including its creation when they join.
      entry: once(PARTNER, Who.owner),
      owner: (key) => key,
      limit: MAX_PARTNERS,
    },
    [Root.agreements]: { kind: 'dict', name: 'agreements', key: isId, entry: once(AGREEMENT) },
    [Root.questions]: { kind: 'dict', name: 'questions', key: isId, entry: once(QUESTION) },
    [Root.checkins]: {
      kind: 'dict',
      name: 'check-ins',
      key: (key) => {
        const parsed = parseCheckinKey(key);
        return parsed !== null && checkinKey(parsed.date, parsed.partnerId as PartnerId) === key;
      },
      // Not set once: two devices of one partner may create the day's check-in at once, and the
      // one Yjs keeps replaces the other (SPEC.md 16).
      entry: { value: CHECKIN, write: Who.owner },
      owner: (key) => parseCheckinKey(key)?.partnerId ?? null,
    },
    [Root.boundaries]: { kind: 'dict', name: 'boundaries', key: isId, entry: once(BOUNDARY) },
  };
}

let rules: Readonly<Record<Root, ContainerSpec>> | undefined;

/**
 * The rules of a top-level type, or null for a name the space does not have. The table is built
 * on first use, so a bundle that never checks an update (the app's first load) leaves it out.
 */
export function rootSpec(name: string): ContainerSpec | null {
  rules ??= spaceRules();
  return Object.hasOwn(rules, name) ? rules[name as Root] : null;
}
