import { SqliteAdapter } from '@mend/server';
import type { SpaceId } from '@mend/protocol';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import { createCouple, type Couple } from '../support/api.js';
import { openProvider, openRawSocket, rawSync, waitForSynced } from '../support/clients.js';
import { repoRoot, startServer, type MendServer } from '../support/server.js';

const run = promisify(execFile);
let server: MendServer | null = null;

afterEach(async () => {
  await server?.dispose();
  server = null;
});

/**
 * What an older version let through and stored: Yjs applies it, but once a document holding it
 * is encoded (a room answering a fresh device, a compaction), no fresh document can load the
 * result: a GC of 2^53 + 2 clocks pushes clocks past exact doubles, and the encoded delete set
 * rounds into the next item ("Unexpected case").
 */
function poisoningUpdate(): Uint8Array {
  const client = 7;
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint(encoder, 3);
  encoding.writeVarUint(encoder, client);
  encoding.writeVarUint(encoder, 0);
  encoding.writeUint8(encoder, 4);
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarString(encoder, 'notes');
  encoding.writeVarString(encoder, 'abcd');
  encoding.writeUint8(encoder, 0);
  encoding.writeVarUint(encoder, 2 ** 53 + 2);
  encoding.writeUint8(encoder, 4 | 0x80);
  encoding.writeVarUint(encoder, client);
  encoding.writeVarUint(encoder, 3);
  encoding.writeVarString(encoder, 'xyz');
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint(encoder, client);
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint(encoder, 3);
  encoding.writeVarUint(encoder, 1);
  return encoding.toUint8Array(encoder);
}

async function loadFresh(running: MendServer, spaceId: string, token: string) {
  const socket = await openRawSocket(running, spaceId, { token });
  try {
    return await rawSync(socket);
  } finally {
    socket.close();
  }
}

/**
 * Partner B types `text` at the start of the notes, then disconnects once a fresh client (A's)
 * loads the notes as `expected`.
 */
async function typeNotes(running: MendServer, couple: Couple, text: string, expected: string) {
  const partner = openProvider(running, couple.spaceId, couple.b.token);
  await waitForSynced(partner.provider);
  partner.doc.getText('notes').insert(0, text);
  await expect
    .poll(async () =>
      (await loadFresh(running, couple.spaceId, couple.a.token)).getText('notes').toString(),
    )
    .toBe(expected);
  partner.provider.destroy();
}

function admin(dataDir: string, ...args: string[]) {
  return run(process.execPath, [join(repoRoot, 'server/dist/admin.js'), ...args], {
    env: { ...process.env, MEND_DATA_DIR: dataDir, DATABASE_URL: '' },
  });
}

describe('repair-space', () => {
  it('makes a space poisoned in storage load again in a fresh client, keeping the honest edits', async () => {
    server = await startServer();
    const couple = await createCouple(server);
    await typeNotes(server, couple, 'written before the poison', 'written before the poison');
    await server.stop();

    // An older version stored this; bypass the server and append it directly.
    const storage = SqliteAdapter.inDirectory(server.dataDir);
    const poison = poisoningUpdate();
    const seq = await storage.appendUpdate(couple.spaceId as SpaceId, poison);
    await storage.close();
    server = await server.restart();
    // An edit wakes the room; from then on it answers fresh devices by encoding its document.
    const woken = openProvider(server, couple.spaceId, couple.b.token);
    await waitForSynced(woken.provider);
    // Elsewhere than the poison's items, so that it does not depend on them.
    woken.doc.getText('log').insert(0, 'woken');
    await expect
      .poll(() => loadFresh(server!, couple.spaceId, couple.a.token).catch((e: Error) => e.message))
      .toBe('Unexpected case');
    woken.provider.destroy();
    await server.stop();

    const { stdout } = await admin(server.dataDir, 'repair-space', couple.spaceId);
    expect(stdout).toContain(`seq ${seq} (${poison.byteLength} bytes)`);

    server = await server.restart();
    const fresh = await loadFresh(server, couple.spaceId, couple.a.token);
    expect(fresh.getText('notes').toString()).toBe('written before the poison');
    expect(fresh.getText('log').toString()).toBe('woken');
    await typeNotes(server, couple, 'and after. ', 'and after. written before the poison');
  });

  it('tells the operator when a space loads cleanly and changes nothing', async () => {
    server = await startServer();
    const couple = await createCouple(server);
    await server.stop();
    const { stdout } = await admin(server.dataDir, 'repair-space', couple.spaceId);
    expect(stdout).toMatch(/loads cleanly.*nothing was changed/);
  });
});
