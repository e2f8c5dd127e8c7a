import { describe, expect, it } from 'vitest';
import { isCi, summary } from '../../scripts/summary.mjs';

const postgres = 'PostgreSQL is not reachable on 127.0.0.1:5432 (set DATABASE_URL)';
const redis = 'Redis is not reachable on 127.0.0.1:6379 (set REDIS_URL)';
const allRan = { passed: 500, failed: 0, skipped: 0 };
const someSkipped = { passed: 488, failed: 0, skipped: 12 };

describe('the closing lines of pnpm test', () => {
  it('says every step passed and exits 0 when nothing failed or skipped', () => {
    const result = summary({ counts: allRan, failedSteps: [], skipReasons: [], ci: true });
    expect(result.lines).toEqual(['Every step passed.', '500 passed, 0 failed, 0 skipped']);
    expect(result.exitCode).toBe(0);
  });

  it('names how many tests were skipped and why instead of saying every step passed', () => {
    const result = summary({
      counts: someSkipped,
      failedSteps: [],
      skipReasons: [postgres, redis],
      ci: false,
    });
    expect(result.lines).toEqual([
      `Every step passed, but 12 tests were skipped: ${postgres}; ${redis}.`,
      '488 passed, 0 failed, 12 skipped',
    ]);
    expect(result.exitCode).toBe(0);
  });

  it('fails the run in CI when any test was skipped', () => {
    const result = summary({
      counts: someSkipped,
      failedSteps: [],
      skipReasons: [redis],
      ci: true,
    });
    expect(result.lines[0]).toBe(`Every step passed, but 12 tests were skipped: ${redis}.`);
    expect(result.lines.at(-1)).toBe('488 passed, 0 failed, 12 skipped');
    expect(result.exitCode).toBe(1);
  });

  it('says a single skipped test in the singular, even without a known reason', () => {
    const result = summary({
      counts: { passed: 1, failed: 0, skipped: 1 },
      failedSteps: [],
      skipReasons: [],
      ci: false,
    });
    expect(result.lines[0]).toBe('Every step passed, but 1 test was skipped.');
  });

  it('lists the failed steps, still mentions skips, and counts a failed step with no failed test', () => {
    const result = summary({
      counts: someSkipped,
      failedSteps: ['Lint and format', 'Typecheck'],
      skipReasons: [postgres],
      ci: false,
    });
    expect(result.lines).toEqual([
      'Failed steps: Lint and format, Typecheck.',
      `Also, 12 tests were skipped: ${postgres}.`,
      '488 passed, 2 failed, 12 skipped',
    ]);
    expect(result.exitCode).toBe(1);
  });

  it('ends with the line CI parses, whatever happened', () => {
    const line = /^\d+ passed, \d+ failed, \d+ skipped$/;
    for (const counts of [allRan, someSkipped, { passed: 3, failed: 4, skipped: 0 }]) {
      for (const ci of [false, true]) {
        const { lines } = summary({ counts, failedSteps: ['Vitest'], skipReasons: [], ci });
        expect(lines.at(-1)).toMatch(line);
      }
    }
  });
});

describe('telling a CI run', () => {
  it('takes CI=true or CI=1 as CI, and an unset, empty, 0 or false CI as not', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({})).toBe(false);
    expect(isCi({ CI: '' })).toBe(false);
    expect(isCi({ CI: '0' })).toBe(false);
    expect(isCi({ CI: 'false' })).toBe(false);
  });
});
