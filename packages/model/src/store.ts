import * as Y from 'yjs';
import { ModelError, ModelErrorCode } from './errors.js';
import type { PartnerId } from './ids.js';
import { Root } from './schema.js';

/** The top-level shared types of a space, for observing (`observeDeep`) in the app. */
export interface SpaceRoots {
  readonly space: Y.Map<unknown>;
  readonly partners: Y.Map<Y.Map<unknown>>;
  readonly agreements: Y.Map<Y.Map<unknown>>;
  readonly questions: Y.Map<Y.Map<unknown>>;
  readonly checkins: Y.Map<Y.Map<unknown>>;
  readonly boundaries: Y.Map<Y.Map<unknown>>;
  readonly shares: Y.Map<Y.Map<unknown>>;
  readonly breaks: Y.Map<Y.Map<unknown>>;
  readonly reveals: Y.Map<Y.Map<unknown>>;
  readonly repairs: Y.Map<Y.Map<unknown>>;
  readonly meetings: Y.Map<Y.Map<unknown>>;
  /** Partner id → `{ signingKey, agreementKey }` (plain JSON; sealing.ts). */
  readonly sealing: Y.Map<unknown>;
  /** Device signing key → `{ partnerId, name, addedAt }` (devices.ts). */
  readonly devices: Y.Map<Y.Map<unknown>>;
}

export function roots(doc: Y.Doc): SpaceRoots {
  return {
    space: doc.getMap<unknown>(Root.space),
    partners: doc.getMap<Y.Map<unknown>>(Root.partners),
    agreements: doc.getMap<Y.Map<unknown>>(Root.agreements),
    questions: doc.getMap<Y.Map<unknown>>(Root.questions),
    checkins: doc.getMap<Y.Map<unknown>>(Root.checkins),
    boundaries: doc.getMap<Y.Map<unknown>>(Root.boundaries),
    shares: doc.getMap<Y.Map<unknown>>(Root.shares),
    breaks: doc.getMap<Y.Map<unknown>>(Root.breaks),
    reveals: doc.getMap<Y.Map<unknown>>(Root.reveals),
    repairs: doc.getMap<Y.Map<unknown>>(Root.repairs),
    meetings: doc.getMap<Y.Map<unknown>>(Root.meetings),
    sealing: doc.getMap<unknown>(Root.sealing),
    devices: doc.getMap<Y.Map<unknown>>(Root.devices),
  };
}

// Readers tolerate anything a buggy or newer peer might have written: a field of the wrong type
// reads as its fallback instead of throwing in the middle of rendering.

export function str(map: Y.Map<unknown>, key: string, fallback = ''): string {
  const v = map.get(key);
  return typeof v === 'string' ? v : fallback;
}

export function strOrNull(map: Y.Map<unknown>, key: string): string | null {
  const v = map.get(key);
  return typeof v === 'string' ? v : null;
}

export function num(map: Y.Map<unknown>, key: string, fallback = 0): number {
  const v = map.get(key);
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

export function numOrNull(map: Y.Map<unknown>, key: string): number | null {
  const v = map.get(key);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function text(map: Y.Map<unknown>, key: string): Y.Text | null {
  const v = map.get(key);
  return v instanceof Y.Text ? v : null;
}

export function ymap(map: Y.Map<unknown>, key: string): Y.Map<unknown> | null {
  const v = map.get(key);
  return v instanceof Y.Map ? (v as Y.Map<unknown>) : null;
}

export function yarray(map: Y.Map<unknown>, key: string): Y.Array<unknown> | null {
  const v = map.get(key);
  return v instanceof Y.Array ? (v as Y.Array<unknown>) : null;
}

/**
 * Writes `value` unless the field already holds it. Overwriting a field deletes its old value, and
 * a replica that receives that deletion before the new value (which Yjs parks while an earlier
 * update is missing) holds the entry without the field until the rest arrives (SPEC.md, "Partial
 * delivery"). Call it inside the caller's transaction.
 */
export function setIfChanged(map: Y.Map<unknown>, key: string, value: string | number): void {
  if (map.get(key) !== value) map.set(key, value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function notFound(what: string, id: string): ModelError {
  return new ModelError(ModelErrorCode.notFound, `No ${what} with id ${id} in this space.`);
}

export function requireInitialised(doc: Y.Doc): void {
  if (typeof roots(doc).space.get('schemaVersion') !== 'number') {
    throw new ModelError(
      ModelErrorCode.spaceNotInitialised,
      'This space has not been set up yet (initSpace has not run).',
    );
  }
}

export function requirePartner(doc: Y.Doc, id: unknown, field: string): PartnerId {
  if (typeof id !== 'string' || !(roots(doc).partners.get(id) instanceof Y.Map)) {
    throw new ModelError(
      ModelErrorCode.notFound,
      `${field} is not a partner in this space (${String(id)}).`,
    );
  }
  return id as PartnerId;
}

/** Partner ids in a stable order (by joinedAt, then id), so every replica derives the same. */
export function partnerIds(doc: Y.Doc): PartnerId[] {
  const partners = roots(doc).partners;
  return [...partners.entries()]
    .filter(([, p]) => p instanceof Y.Map)
    .sort(([a, pa], [b, pb]) => num(pa, 'joinedAt') - num(pb, 'joinedAt') || (a < b ? -1 : 1))
    .map(([id]) => id as PartnerId);
}
