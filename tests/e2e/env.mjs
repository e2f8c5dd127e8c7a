// What the e2e server (server.mjs) and the tests (support.ts) share: the port, the server's
// scratch directory, and the environment Mend runs in.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const e2ePort = process.env.MEND_E2E_PORT ?? '18787';

/** The server's scratch directory: its SQLite data in data/, its copy of the web build in web/. */
export const e2eDir = join(tmpdir(), `mend-e2e-${e2ePort}`);

/**
 * `env` without DATABASE_URL and REDIS_URL: the e2e server, and the operator commands run against
 * it, use Mend's embedded default (SQLite) even when the test command set them for the adapter
 * suites.
 */
export function sqliteOnly(env = process.env) {
  return Object.fromEntries(
    Object.entries(env).filter(([key]) => key !== 'DATABASE_URL' && key !== 'REDIS_URL'),
  );
}
