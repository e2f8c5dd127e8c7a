import { wordingFingerprint } from './fingerprint.js';
import { isId } from './ids.js';
import { Feeling, KeepValue, Limits } from './schema.js';
import { codePoints, isEpochMs, isIsoDate } from './validate.js';

// The value checks of the authorship rule table (authorshipRules.ts): what a plain value at a
// place may be. Each returns null when the value is fine, else what it should be (never the
// value itself: details may be logged, values are a couple's words).

/** What a leaf check sees besides the value. */
export interface LeafContext {
  /** The key the enclosing record sits under (an entity's id, a check-in key), if any. */
  readonly recordKey: string | null;
}

/** A plain (JSON) value. `check` says what is wrong with it, or null. */
export interface LeafRule {
  readonly kind: 'leaf';
  readonly check: (value: unknown, context: LeafContext) => string | null;
  /** The partner the value is written in the name of; it must be the author. */
  readonly names?: (value: unknown) => unknown;
}

export const leaf = (check: LeafRule['check'], names?: LeafRule['names']): LeafRule =>
  names ? { kind: 'leaf', check, names } : { kind: 'leaf', check };

export const textOf =
  (min: number, max: number) =>
  (v: unknown): string | null =>
    typeof v === 'string' && codePoints(v.trim()) >= min && codePoints(v) <= max
      ? null
      : `text of ${min} to ${max} characters`;

export const epoch = (v: unknown): string | null =>
  isEpochMs(v) ? null : 'a time in milliseconds';
export const id = (v: unknown): string | null => (isId(v) ? null : 'an id');
export const bool = (v: unknown): string | null =>
  typeof v === 'boolean' ? null : 'true or false';
export const oneOf =
  (values: Readonly<Record<string, string | number>>) =>
  (v: unknown): string | null =>
    (Object.values(values) as unknown[]).includes(v)
      ? null
      : `one of ${Object.values(values).join(', ')}`;
export const color = (v: unknown): string | null =>
  typeof v === 'string' && /^#[0-9a-fA-F]{6}$/.test(v) ? null : 'a colour #rrggbb';
export const sameAsKey = (v: unknown, c: LeafContext): string | null =>
  isId(v) && v === c.recordKey ? null : 'the id the record is stored under';
export const isoDate = (v: unknown): string | null => (isIsoDate(v) ? null : 'a date');
export const self = (v: unknown): unknown => v;

/** The (date, partner) a check-in's or a share's key names, or null for a key that is not one. */
export function parseDayKey(key: string): { date: string; partnerId: string } | null {
  const colon = key.indexOf(':');
  const date = key.slice(0, colon);
  const partnerId = key.slice(colon + 1);
  return colon > 0 && isIsoDate(date) && isId(partnerId) ? { date, partnerId } : null;
}

/**
 * A plain object with exactly these own keys, each passing its check. Yjs decodes JSON into
 * plain objects, and a `__proto__` key would set an object's prototype: only own keys count.
 */
export function checkRecord(
  v: unknown,
  fields: Readonly<Record<string, (v: unknown) => string | null>>,
  what: string,
): string | null {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) {
    return what;
  }
  const keys = Object.keys(fields);
  if (Object.keys(v).length !== keys.length || !keys.every((k) => Object.hasOwn(v, k))) {
    return what;
  }
  for (const k of keys) {
    if (fields[k]!((v as Record<string, unknown>)[k]) !== null) return what;
  }
  return null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? null : 'text');
export const ownField = (key: string) => (v: unknown) =>
  typeof v === 'object' && v !== null && Object.hasOwn(v, key)
    ? (v as Record<string, unknown>)[key]
    : undefined;

export const acceptance = (v: unknown): string | null =>
  checkRecord(v, { fingerprint: str, at: epoch }, 'an acceptance { fingerprint, at }');

/** A history entry also proves its fingerprint: the wording in force is read back from it. */
export function historyEntry(v: unknown): string | null {
  const shape = checkRecord(
    v,
    { title: str, body: str, fingerprint: str, acceptedBy: id, at: epoch },
    'a history entry { title, body, fingerprint, acceptedBy, at }',
  );
  if (shape !== null) return shape;
  const e = v as { title: string; body: string; fingerprint: string };
  return e.fingerprint === wordingFingerprint(e.title, e.body)
    ? null
    : "a history entry whose fingerprint is its wording's";
}

export const keepEntry = (v: unknown): string | null =>
  checkRecord(
    v,
    {
      id,
      date: isoDate,
      partnerId: id,
      value: oneOf(KeepValue),
      note: textOf(0, Limits.note),
      at: epoch,
    },
    'a keep entry { id, date, partnerId, value, note, at }',
  );

export const readMarker = (v: unknown): string | null =>
  checkRecord(
    v,
    { at: epoch, items: (i) => (Array.isArray(i) && i.every(isId) ? null : 'ids') },
    'a read marker { at, items }',
  );

export const acknowledgement = (v: unknown): string | null =>
  checkRecord(
    v,
    { by: id, at: epoch, fingerprint: str },
    'an acknowledgement { by, at, fingerprint }',
  );

export const heardMark = (v: unknown): string | null =>
  checkRecord(v, { by: id, at: epoch, fingerprint: str }, 'a heard mark { by, at, fingerprint }');

const FEELINGS: readonly unknown[] = Object.values(Feeling);

/** As `saveShare` stores them: from the list, in its order, each once (so one choice, one value). */
export const feelingList = (v: unknown): string | null =>
  Array.isArray(v) &&
  v.every(
    (f, i) => FEELINGS.includes(f) && (i === 0 || FEELINGS.indexOf(f) > FEELINGS.indexOf(v[i - 1])),
  )
    ? null
    : 'feelings from the list, in its order, each once';
