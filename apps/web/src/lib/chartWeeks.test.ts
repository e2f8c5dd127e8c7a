import { describe, expect, it } from 'vitest';
import type { IsoDate } from '@mend/model';
import { chartWeeks } from './chartWeeks';

const today = '2026-12-06' as IsoDate;

describe('the weeks of a weekly chart', () => {
  it('are one week, ending today, for a space that started this week', () => {
    expect(chartWeeks(today, today, 8)).toEqual([{ from: '2026-11-30', to: '2026-12-06' }]);
    expect(chartWeeks(today, '2026-11-30' as IsoDate, 8)).toHaveLength(1);
  });

  it('reach back to the week that holds the start, and no further', () => {
    const weeks = chartWeeks(today, '2026-11-29' as IsoDate, 8);
    expect(weeks).toEqual([
      { from: '2026-11-23', to: '2026-11-29' },
      { from: '2026-11-30', to: '2026-12-06' },
    ]);
  });

  it('are at most the maximum for a space that started long ago', () => {
    const weeks = chartWeeks(today, '2025-01-01' as IsoDate, 8);
    expect(weeks).toHaveLength(8);
    expect(weeks[0]).toEqual({ from: '2026-10-12', to: '2026-10-18' });
    expect(weeks.at(-1)?.to).toBe(today);
  });
});
