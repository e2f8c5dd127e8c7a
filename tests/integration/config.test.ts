import { describe, expect, it } from 'vitest';
import { startServerExpectingFailure } from '../support/server.js';

describe('configuration from the environment', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['MEND_MAX_MESSAGE_BYTES', '-1'],
    ['MEND_MAX_MESSAGE_BYTES', 'sixteen megabytes'],
    ['MEND_RATE_LIMIT_PER_MINUTE', '-5'],
    ['DATABASE_URL', 'mysql://localhost/mend'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
  ])(
    'a bad %s (%j) stops start-up with a clear message naming the variable',
    async (variable, value) => {
      const { exit, output } = await startServerExpectingFailure({ env: { [variable]: value } });
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(output).toContain(variable);
      // An operator reads this at start-up: a sentence, not a stack trace.
      expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    },
  );
});
