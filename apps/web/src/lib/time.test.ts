import { describe, expect, it } from 'vitest';
import { formatDay, formatShortDay, localIsoDate, timeAgo } from './time.js';

describe('times shown to people', () => {
  it('says how long ago, in plain words', () => {
    const now = Date.UTC(2026, 10, 26, 22, 0);
    expect(timeAgo(now - 20_000, now)).toBe('just now');
    expect(timeAgo(now - 5 * 60_000, now)).toMatch(/5 minutes ago/);
    expect(timeAgo(now - 3 * 3_600_000, now)).toMatch(/3 hours ago/);
  });

  it('reads a time from a clock that runs ahead as just now, never "in 5 minutes"', () => {
    const now = Date.UTC(2026, 10, 26, 22, 0);
    expect(timeAgo(now + 5 * 60_000, now)).toBe('just now');
  });

  it("uses this device's own calendar day", () => {
    expect(localIsoDate(new Date(2026, 0, 5, 23, 59))).toBe('2026-01-05');
    expect(localIsoDate(new Date(2026, 0, 6, 0, 1))).toBe('2026-01-06');
  });

  it('names a day with its year, and only month and day where space is short (chart axes)', () => {
    expect(formatDay('2026-10-16')).toMatch(/2026/);
    expect(formatDay('2026-10-16')).toMatch(/16/);
    expect(formatShortDay('2026-10-16')).toMatch(/16/);
    expect(formatShortDay('2026-10-16')).not.toMatch(/2026/);
  });
});
