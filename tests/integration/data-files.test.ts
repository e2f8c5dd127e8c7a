import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebsocketProvider } from 'y-websocket';
import { afterEach, describe, expect, it } from 'vitest';
import { createCouple } from '../support/api.js';
import { openProvider, waitForDoc, waitForSynced } from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';

let server: MendServer | undefined;
const providers: WebsocketProvider[] = [];
const scratch: string[] = [];
let umaskBefore = 0;

afterEach(async () => {
  for (const provider of providers.splice(0)) provider.destroy();
  await server?.dispose();
  server = undefined;
  process.umask(umaskBefore);
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function modeOf(file: string): Promise<string> {
  return ((await stat(file)).mode & 0o777).toString(8);
}

describe('the data directory of a running server', () => {
  it('is tightened to 0700 with its database files 0600 under a permissive umask, and the log says so', async () => {
    // The server inherits this umask: group and others could read whatever it creates.
    umaskBefore = process.umask(0o022);
    const root = await mkdtemp(join(tmpdir(), 'mend-files-'));
    scratch.push(root);
    const dataDir = join(root, 'data');
    await mkdir(dataDir);
    await chmod(dataDir, 0o755);

    server = await startServer({ dataDir });
    const couple = await createCouple(server);
    const a = openProvider(server, couple.spaceId, couple.a.token);
    const b = openProvider(server, couple.spaceId, couple.b.token);
    providers.push(a.provider, b.provider);
    await Promise.all([waitForSynced(a.provider), waitForSynced(b.provider)]);
    a.doc.getArray<string>('edits').push(['stored']);
    await waitForDoc(b.doc, () => b.doc.getArray('edits').length === 1, 'the edit at B');

    const file = join(dataDir, 'mend.sqlite');
    expect(
      await Promise.all([dataDir, file, `${file}-wal`, `${file}-shm`].map((f) => modeOf(f))),
    ).toEqual(['700', '600', '600', '600']);
    expect(server.logs.map((log) => log.msg)).toContain(
      'tightened the data directory so only this user can read it',
    );
  });
});
