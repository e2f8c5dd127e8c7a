import * as Y from 'yjs';
import { ModelError, ModelErrorCode } from './errors.js';
import type { CheckinKey, PartnerId } from './ids.js';
import { Origin } from './origin.js';
import {
  CheckinState,
  Limits,
  PrivateScope,
  SEALED_CHECKIN_MAX_CHARS,
  type CheckinSnapshot,
  type EpochMs,
  type IsoDate,
} from './schema.js';
import { requireInitialised, requirePartner, roots, setIfChanged } from './store.js';
import {
  isEpochMs,
  isIsoDate,
  requireEpochMs,
  requireInteger,
  requireIsoDate,
  requireOneOf,
  requireText,
} from './validate.js';

/** The deterministic key of a (date, partner) check-in: `${date}:${partnerId}`. */
export function checkinKey(date: IsoDate, partnerId: PartnerId): CheckinKey {
  return `${date}:${partnerId}` as CheckinKey;
}

export interface CheckInInput {
  readonly partnerId: PartnerId;
  readonly date: IsoDate;
  /** Whole number 0-10. */
  readonly safety: number;
  readonly state: CheckinState;
  /**
   * Omitted on an update keeps the earlier note (a note kept private stays private). Given, the
   * check-in is shared whole from then on.
   */
  readonly note?: string;
  readonly at: EpochMs;
}

/** What a check-in kept private holds in the document: what is sealed, and the sealed text. */
interface PrivatePart {
  readonly scope: PrivateScope;
  readonly sealed: string;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Whether `v` is a check-in's private part as the model writes it (one plain object). */
export function isPrivatePart(v: unknown): v is PrivatePart {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) {
    return false;
  }
  const keys = Object.keys(v);
  const { scope, sealed } = v as Record<string, unknown>;
  return (
    keys.length === 2 &&
    Object.hasOwn(v, 'scope') &&
    Object.hasOwn(v, 'sealed') &&
    (scope === PrivateScope.note || scope === PrivateScope.checkin) &&
    typeof sealed === 'string' &&
    sealed.length <= SEALED_CHECKIN_MAX_CHARS &&
    sealed.length % 4 !== 1 &&
    BASE64URL.test(sealed)
  );
}

function privatePartOf(checkin: unknown): PrivatePart | null {
  const part = checkin instanceof Y.Map ? checkin.get('private') : undefined;
  return isPrivatePart(part) ? part : null;
}

/** Opens the day's check-in map for writing, creating it if there is none. */
export function dayCheckin(
  checkins: Y.Map<Y.Map<unknown>>,
  key: CheckinKey,
  date: IsoDate,
  partnerId: PartnerId,
  at: EpochMs,
): Y.Map<unknown> {
  const existing = checkins.get(key);
  if (existing instanceof Y.Map) return existing;
  const checkin = new Y.Map<unknown>();
  checkin.set('date', date);
  checkin.set('partnerId', partnerId);
  checkin.set('createdAt', at);
  checkin.set('note', '');
  checkins.set(key, checkin);
  return checkin;
}

/**
 * Creates the day's check-in or updates it in place. The key is derived from (date, partner), so
 * two devices checking in for the same day write to the same entry and end with one.
 */
export function checkIn(doc: Y.Doc, input: CheckInInput): CheckinKey {
  requireInitialised(doc);
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const date = requireIsoDate(input.date, 'date');
  const safety = requireInteger(input.safety, 'Felt safety', Limits.safetyMin, Limits.safetyMax);
  const state = requireOneOf(input.state, CheckinState, 'state');
  const note =
    input.note === undefined ? undefined : requireText(input.note, 'Note', 0, Limits.note);
  const at = requireEpochMs(input.at, 'at');
  const key = checkinKey(date, partnerId);
  const checkins = roots(doc).checkins;
  const kept = privatePartOf(checkins.get(key));
  if (note === undefined && kept?.scope === PrivateScope.checkin) {
    // Its note is sealed with the rest, and the model cannot open it to keep it.
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      'This check-in is kept private: give its note to share it.',
    );
  }
  doc.transact(() => {
    const checkin = dayCheckin(checkins, key, date, partnerId, at);
    setIfChanged(checkin, 'safety', safety);
    setIfChanged(checkin, 'state', state);
    if (note !== undefined) {
      setIfChanged(checkin, 'note', note);
      if (checkin.has('private')) checkin.delete('private');
    }
    checkin.set('updatedAt', at);
  }, Origin.checkIn);
  return key;
}

const STATES: readonly unknown[] = Object.values(CheckinState);

/**
 * The check-in as a snapshot, or `null` while any field is missing or invalid. A field goes
 * missing for a moment on a replica that has the deletion of its old value but not yet the new
 * value (see SPEC.md, "Partial delivery"); the whole entry is skipped until the rest arrives,
 * so a reader never sees a check-in without its safety or state.
 */
function snapshot(key: string, checkin: Y.Map<unknown>): CheckinSnapshot | null {
  const date = checkin.get('date');
  const partnerId = checkin.get('partnerId');
  const safety = checkin.get('safety');
  const state = checkin.get('state');
  const note = checkin.get('note');
  const createdAt = checkin.get('createdAt');
  const updatedAt = checkin.get('updatedAt');
  const raw = checkin.get('private');
  const part = isPrivatePart(raw) ? raw : null;
  if (
    !isIsoDate(date) ||
    typeof partnerId !== 'string' ||
    key !== checkinKey(date, partnerId as PartnerId) ||
    typeof note !== 'string' ||
    !isEpochMs(createdAt) ||
    !isEpochMs(updatedAt) ||
    (raw !== undefined && !part)
  ) {
    return null;
  }
  const common = {
    key: key as CheckinKey,
    date,
    partnerId: partnerId as PartnerId,
    createdAt,
    updatedAt,
  };
  // A whole private check-in reads the same whatever shared fields a concurrent write left.
  if (part?.scope === PrivateScope.checkin) {
    return { ...common, private: PrivateScope.checkin, sealed: part.sealed };
  }
  if (
    typeof safety !== 'number' ||
    !Number.isInteger(safety) ||
    safety < Limits.safetyMin ||
    safety > Limits.safetyMax ||
    !STATES.includes(state)
  ) {
    return null;
  }
  const values = { safety, state: state as CheckinState };
  return part
    ? { ...common, ...values, private: PrivateScope.note, note: '', sealed: part.sealed }
    : { ...common, ...values, private: null, note };
}

export function getCheckin(
  doc: Y.Doc,
  date: IsoDate,
  partnerId: PartnerId,
): CheckinSnapshot | null {
  const key = checkinKey(date, partnerId);
  const checkin = roots(doc).checkins.get(key);
  return checkin instanceof Y.Map ? snapshot(key, checkin) : null;
}

/** Every check-in, sorted by date then partner. */
export function listCheckins(doc: Y.Doc): CheckinSnapshot[] {
  const out: CheckinSnapshot[] = [];
  for (const [key, checkin] of roots(doc).checkins.entries()) {
    const s = checkin instanceof Y.Map ? snapshot(key, checkin) : null;
    if (s) out.push(s);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
