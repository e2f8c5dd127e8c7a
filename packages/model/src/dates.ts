import { ModelError, ModelErrorCode } from './errors.js';
import type { IsoDate } from './schema.js';
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
