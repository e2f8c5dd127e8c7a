// The closing lines of `pnpm test`, kept apart from the runner so they can be tested alone.
// A skipped test must never read as a pass: the PostgreSQL and Redis suites skip when those
// services are missing, and CI would otherwise stay green while testing less.

/**
 * @typedef {{ passed: number, failed: number, skipped: number }} Counts
 * @typedef {object} SummaryInput
 * @property {Counts} counts tests counted by Vitest and Playwright
 * @property {string[]} failedSteps titles of the steps that failed
 * @property {string[]} skipReasons why tests may have skipped, e.g. a service that is not reachable
 * @property {boolean} ci whether a skipped test fails the run (CI runs everything)
 */

/**
 * What `pnpm test` prints last, and its exit code. The last line is always
 * `N passed, N failed, N skipped`: CI parses it.
 *
 * @param {SummaryInput} input
 * @returns {{ lines: string[], exitCode: 0 | 1 }}
 */
export function summary({ counts, failedSteps, skipReasons, ci }) {
  const lines = [];
  const skipped = counts.skipped > 0 ? skippedSentence(counts.skipped, skipReasons) : null;
  if (failedSteps.length > 0) {
    lines.push(`Failed steps: ${failedSteps.join(', ')}.`);
    if (skipped) lines.push(`Also, ${skipped}`);
  } else if (skipped) {
    lines.push(`Every step passed, but ${skipped}`);
    if (ci) lines.push('In CI a skipped test fails the run: every test must run there.');
  } else {
    lines.push('Every step passed.');
  }
  // A failed step that counted no failed test (lint, build, typecheck) still counts as one.
  const failed = counts.failed || failedSteps.length;
  lines.push(`${counts.passed} passed, ${failed} failed, ${counts.skipped} skipped`);
  const ok = failedSteps.length === 0 && (!ci || counts.skipped === 0);
  return { lines, exitCode: ok ? 0 : 1 };
}

/**
 * Whether the environment says this is a CI run. `.ci/run` sets CI=true, as CI services do.
 *
 * @param {Record<string, string | undefined>} env
 */
export function isCi(env) {
  const value = (env.CI ?? '').trim().toLowerCase();
  return value !== '' && value !== '0' && value !== 'false';
}

/** @param {number} n @param {string[]} reasons */
function skippedSentence(n, reasons) {
  const tests = n === 1 ? '1 test was skipped' : `${n} tests were skipped`;
  return reasons.length > 0 ? `${tests}: ${reasons.join('; ')}.` : `${tests}.`;
}
