import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultEntry, repoRoot, withTimeout } from '../support/server.js';

// Mend logs JSON lines to stdout. Under a supervisor the reader of that pipe can go away (a log
// shipper restarted, `mend | tee` with tee killed): the server must keep serving and still stop
// on a signal, not retry a broken pipe for ever.
describe('a server whose log reader went away', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a server and closes the reading end of its stdout once it listens. */
  async function startDeafened(): Promise<{ port: number; stop: () => Promise<number | null> }> {
    const dataDir = mkdtempSync(join(tmpdir(), 'mend-log-reader-'));
    dirs.push(dataDir);
    const child = spawn(process.execPath, [defaultEntry], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MEND_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(child);
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? (console.log('signal', signal), null))),
    );
    const lines = createInterface({ input: child.stdout });
    const port = await withTimeout(
      new Promise<number>((resolve) =>
        lines.on('line', (line) => {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'listening' && entry.port) resolve(entry.port);
        }),
      ),
      20_000,
      'the server to listen',
    );
    lines.close();
    child.stdout.destroy();
    return {
      port,
      stop: () => {
        child.kill('SIGTERM');
        return withTimeout(exited, 15_000, 'the server to exit after SIGTERM');
      },
    };
  }

  it('stops on SIGTERM with exit 0 when its first lines after that are the shutdown ones', async () => {
    const server = await startDeafened();
    expect(await server.stop()).toBe(0);
  });

  it('keeps answering requests that log, then stops on SIGTERM with exit 0', async () => {
    const server = await startDeafened();
    const created = await fetch(`http://127.0.0.1:${server.port}/api/spaces`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ displayName: 'Alex' }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    expect(await server.stop()).toBe(0);
  });
});
