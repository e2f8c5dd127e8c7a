import * as Y from 'yjs';
import type { CheckinKey, PartnerId } from './ids.js';
import { Origin } from './origin.js';
import {
  CheckinState,
  Limits,
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
  /** Omitted on an update keeps the earlier note. */
  readonly note?: string;
  readonly at: EpochMs;
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
  doc.transact(() => {
    let checkin = checkins.get(key);
    if (!(checkin instanceof Y.Map)) {
      checkin = new Y.Map<unknown>();
      checkin.set('date', date);
      checkin.set('partnerId', partnerId);
      checkin.set('createdAt', at);
      checkin.set('note', '');
      checkins.set(key, checkin);
    }
    setIfChanged(checkin, 'safety', safety);
    setIfChanged(checkin, 'state', state);
    if (note !== undefined) setIfChanged(checkin, 'note', note);
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
  if (
    !isIsoDate(date) ||
    typeof partnerId !== 'string' ||
    key !== checkinKey(date, partnerId as PartnerId) ||
    typeof safety !== 'number' ||
    !Number.isInteger(safety) ||
    safety < Limits.safetyMin ||
    safety > Limits.safetyMax ||
    !STATES.includes(state) ||
    typeof note !== 'string' ||
    !isEpochMs(createdAt) ||
    !isEpochMs(updatedAt)
  ) {
    return null;
  }
  return {
    key: key as CheckinKey,
    date,
    partnerId: partnerId as PartnerId,
    safety,
    state: state as CheckinState,
    note,
    createdAt,
    updatedAt,
  };
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
