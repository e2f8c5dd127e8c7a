import { addDays, type IsoDate } from '@mend/model';

/** One week of a weekly chart, both ends included. */
export interface Week {
  from: IsoDate;
  to: IsoDate;
}

/**
 * The weeks a weekly chart shows: they end today (the last is the current week so far) and go
 * back only as far as the first week that holds `start` (the day the space's story starts), at
 * most `maxWeeks`. A space a few days old shows one week, not eight weeks of empty axis.
 */
export function chartWeeks(today: IsoDate, start: IsoDate, maxWeeks: number): Week[] {
  let count = 1;
  while (count < maxWeeks && addDays(today, -7 * count + 1) > start) count += 1;
  return Array.from({ length: count }, (_, i) => {
    const to = addDays(today, -7 * (count - 1 - i));
    return { from: addDays(to, -6), to };
  });
}
