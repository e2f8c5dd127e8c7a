import { ModelError, ModelErrorCode } from './errors.js';
import type { EpochMs, IsoDate } from './schema.js';
import { requireIsoDate } from './validate.js';

const DAY_MS = 86_400_000;

function toUtcMs(date: IsoDate): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d);
}

function fromUtcMs(ms: number): IsoDate {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The calendar day `days` after (or before, if negative) `date`. */
export function addDays(date: IsoDate, days: number): IsoDate {
  requireIsoDate(date, 'date');
  if (!Number.isInteger(days)) {
    throw new ModelError(ModelErrorCode.invalidArgument, 'days must be a whole number.');
  }
  return fromUtcMs(toUtcMs(date) + days * DAY_MS);
}

/** Every day from `from` to `to`, both included. Empty when `to` is before `from`. */
export function daysBetween(from: IsoDate, to: IsoDate): IsoDate[] {
  requireIsoDate(from, 'from');
  requireIsoDate(to, 'to');
  const days: IsoDate[] = [];
  for (let ms = toUtcMs(from); ms <= toUtcMs(to); ms += DAY_MS) days.push(fromUtcMs(ms));
  return days;
}

// Time zones run from UTC-12 to UTC+14: a calendar day starts somewhere on Earth 14 hours before
// it starts in UTC, and ends somewhere 12 hours after it ends in UTC.
const EARLIEST_OFFSET_MS = 14 * 3_600_000;
const LATEST_OFFSET_MS = 12 * 3_600_000;

/**
 * Whether `at` can be a moment of calendar day `date` in some time zone. The model knows no time
 * zone, so this is the check it can make that a write for "today" happens on that day: a day's
 * share or break written later, with an honest clock, fails it.
 */
export function isOnDay(date: IsoDate, at: EpochMs): boolean {
  const start = toUtcMs(date);
  return at >= start - EARLIEST_OFFSET_MS && at < start + DAY_MS + LATEST_OFFSET_MS;
}
