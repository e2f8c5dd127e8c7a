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
import { num, requireInitialised, requirePartner, roots, str } from './store.js';
import {
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
    checkin.set('safety', safety);
    checkin.set('state', state);
    if (note !== undefined) checkin.set('note', note);
    checkin.set('updatedAt', at);
  }, Origin.checkIn);
  return key;
}

function snapshot(key: string, checkin: Y.Map<unknown>): CheckinSnapshot | null {
  const state = checkin.get('state');
  const safety = checkin.get('safety');
  if (typeof safety !== 'number' || !(Object.values(CheckinState) as unknown[]).includes(state)) {
    return null;
  }
  return {
    key: key as CheckinKey,
    date: str(checkin, 'date'),
    partnerId: str(checkin, 'partnerId') as PartnerId,
    safety,
    state: state as CheckinState,
    note: str(checkin, 'note'),
    createdAt: num(checkin, 'createdAt'),
    updatedAt: num(checkin, 'updatedAt'),
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
