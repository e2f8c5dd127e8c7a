// Starts the real Mend server for the e2e suite: built server and web app, a fresh SQLite data
// directory, a fixed port. Playwright's webServer runs this and stops it after the suite.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { e2eDir as dataDir, e2ePort as port, sqliteOnly } from './env.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
// A fresh scratch directory (the tests run operator commands against its data/).
rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });
// The server hashes the web app's inline scripts for its CSP once, at start-up. A private copy of
// the build keeps a rebuild during the run (another engineer, another suite) from breaking it.
const webDir = join(dataDir, 'web');
cpSync(join(root, 'apps/web/build'), webDir, { recursive: true });

const child = spawn(process.execPath, [join(root, 'server/dist/main.js')], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...sqliteOnly(),
    PORT: port,
    HOST: '127.0.0.1',
    MEND_DATA_DIR: join(dataDir, 'data'),
    MEND_WEB_DIR: webDir,
    // Each test creates and joins spaces from one address; the limit is tested elsewhere.
    MEND_RATE_LIMIT_PER_MINUTE: '0',
    MEND_MAX_SPACES_PER_DAY: '0',
  },
});

function stop(signal) {
  child.kill(signal);
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
child.on('exit', (code) => {
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(code ?? 0);
});
