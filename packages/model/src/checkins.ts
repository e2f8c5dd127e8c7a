import type * as Y from 'yjs';
import type { CheckinKey, PartnerId } from './ids.js';
import type { CheckinSnapshot, CheckinState, EpochMs, IsoDate } from './schema.js';

const todo = (): never => {
  throw new Error('not implemented yet');
};

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
  readonly note?: string;
  readonly at: EpochMs;
}

/** Creates the day's check-in or updates it in place; there is one per (date, partner). */
export function checkIn(_doc: Y.Doc, _input: CheckInInput): CheckinKey {
  return todo();
}

export function getCheckin(
  _doc: Y.Doc,
  _date: IsoDate,
  _partnerId: PartnerId,
): CheckinSnapshot | null {
  return todo();
}

/** Every check-in, sorted by date then partner. */
export function listCheckins(_doc: Y.Doc): CheckinSnapshot[] {
  return todo();
}
