import { ModelError, ModelErrorCode } from './errors.js';
import { isId, type IdGenerator } from './ids.js';
import type { EpochMs, IsoDate } from './schema.js';

// Validation runs before any transaction opens, so a refused call writes nothing.

function invalid(message: string): ModelError {
  return new ModelError(ModelErrorCode.invalidArgument, message);
}

/** A text's length as `Limits` counts it: code points, so an emoji is one (UTF-16 counts two). */
export function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** A string of at most `max` code points (and at least `min` after trimming). */
export function requireText(value: unknown, field: string, min: number, max: number): string {
  if (typeof value !== 'string') throw invalid(`${field} must be text.`);
  const length = codePoints(value.trim());
  if (length < min) {
    throw invalid(min === 1 ? `${field} must not be empty.` : `${field} is too short.`);
  }
  if (codePoints(value) > max) throw invalid(`${field} is longer than ${max} characters.`);
  return value;
}

export function requireBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw invalid(`${field} must be true or false.`);
  return value;
}

export function requireId<T extends string>(value: unknown, field: string): T {
  if (!isId(value)) {
    throw invalid(`${field} must be 16 to 64 letters, digits, '-' or '_'.`);
  }
  return value as T;
}

/** The id for a new item: the caller's or a generated one, refused if `taken` says it is used. */
export function freshId<T extends string>(
  given: string | undefined,
  newId: IdGenerator,
  field: string,
  taken: (id: string) => boolean,
): T {
  const id = requireId<T>(given ?? newId(), field);
  if (taken(id)) {
    throw new ModelError(ModelErrorCode.duplicateId, `${field} ${id} is already used.`);
  }
  return id;
}

/** Latest plausible timestamp: year 2200. Anything later is a unit mistake (µs, ns). */
const MAX_EPOCH_MS = 7_258_118_400_000;

export function isEpochMs(value: unknown): value is EpochMs {
  return (
    typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_EPOCH_MS
  );
}

export function requireEpochMs(value: unknown, field: string): EpochMs {
  if (!isEpochMs(value)) {
    throw invalid(`${field} must be a time in whole milliseconds since 1970.`);
  }
  return value;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isIsoDate(value: unknown): value is IsoDate {
  if (typeof value !== 'string') return false;
  const match = ISO_DATE.exec(value);
  if (!match) return false;
  const [, y, m, d] = match.map(Number) as [number, number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

export function requireIsoDate(value: unknown, field: string): IsoDate {
  if (!isIsoDate(value)) throw invalid(`${field} must be a real calendar day written YYYY-MM-DD.`);
  return value;
}

export function requireInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be a whole number from ${min} to ${max}.`);
  }
  return value;
}

export function requireOneOf<const T extends Record<string, string>>(
  value: unknown,
  allowed: T,
  field: string,
): T[keyof T] {
  const values = Object.values(allowed);
  if (typeof value !== 'string' || !values.includes(value)) {
    throw invalid(`${field} must be one of: ${values.join(', ')}.`);
  }
  return value as T[keyof T];
}

const COLOR = /^#[0-9a-fA-F]{6}$/;

export function requireColor(value: unknown, field: string): string {
  if (typeof value !== 'string' || !COLOR.test(value)) {
    throw invalid(`${field} must be a colour written #rrggbb.`);
  }
  return value;
}
