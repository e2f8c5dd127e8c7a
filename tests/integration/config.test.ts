import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from '../support/api.js';
import { startServer, startServerExpectingFailure } from '../support/server.js';

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

describe('MEND_DATA_DIR', () => {
  it('is created when it does not exist yet', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'mend-config-'));
    const dataDir = join(parent, 'not', 'yet', 'there');
    try {
      const server = await startServer({ dataDir });
      try {
        expect((await get(server, '/healthz')).json).toEqual({ ok: true });
        expect(existsSync(dataDir)).toBe(true);
      } finally {
        await server.dispose();
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
