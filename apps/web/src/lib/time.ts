import type { IsoDate } from '@mend/model';

/** Today (or `date`'s day) in this device's own time zone, `YYYY-MM-DD`. */
export function localIsoDate(date: Date = new Date()): IsoDate {
  const y = date.getFullYear();
  const m = String(date.getMonth() + 1).padStart(2, '0');
  const d = String(date.getDate()).padStart(2, '0');
  return `${y}-${m}-${d}`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "5 minutes ago", "yesterday", "3 weeks ago". */
export function timeAgo(at: number, now: number = Date.now()): string {
  // Another device's clock may run ahead: a time "in the future" reads as just now.
  const seconds = Math.min(0, Math.round((at - now) / 1000));
  const abs = Math.abs(seconds);
  if (abs < 60) return 'just now';
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), 'hour');
  if (abs < 86_400 * 14) return relative.format(Math.round(seconds / 86_400), 'day');
  if (abs < 86_400 * 60) return relative.format(Math.round(seconds / (86_400 * 7)), 'week');
  return relative.format(Math.round(seconds / (86_400 * 30)), 'month');
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const monthDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

export function formatDateTime(at: number): string {
  return dateTime.format(at);
}

/** A time of day only ("21:40", "9:40 PM"): when someone will be back. */
export function formatClock(at: number): string {
  return clock.format(at);
}

/** A `YYYY-MM-DD` day as the person's locale writes it. */
export function formatDay(date: IsoDate): string {
  return dateOnly.format(localDate(date));
}

/** Month and day only ("Oct 16"): chart axes, where the year would crowd a phone's width. */
export function formatShortDay(date: IsoDate): string {
  return monthDay.format(localDate(date));
}

function localDate(date: IsoDate): Date {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y ?? 1970, (m ?? 1) - 1, d ?? 1);
}

export function nowIso(): string {
  return new Date().toISOString();
}
