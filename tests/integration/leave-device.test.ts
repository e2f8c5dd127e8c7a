/**
 * "Remove Mend from this device" against the real server: `DELETE /sync/:spaceId` revokes the
 * device's token for good and closes its open sockets, and the partner keeps syncing. With two
 * nodes on PostgreSQL and Redis, the node that did not answer closes the device's sockets too
 * (4401, within a second) and leaves the partner's open.
 */
import { CloseCode, SealedMessage, SyncStep } from '@mend/protocol';
import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { createCouple, get, readResponse } from '../support/api.js';
import {
  MessageType,
  messageKind,
  openRawSocket,
  rawSync,
  updateMessage,
  UpgradeRefused,
  type RawSocket,
} from '../support/clients.js';
import { createSealedCouple, openSealedSocket, type SealedSocket } from '../support/sealed.js';
import { type MendServer } from '../support/server.js';
import { databaseUrl, redisUrl, useServerAndNodes } from '../support/serverAndNodes.js';

const rig = useServerAndNodes();
const { sockets, spaceIds, startNodes } = rig;

async function leave(spaceId: string, token: string, through: MendServer = rig.server) {
  return readResponse(
    await fetch(`${through.url}/sync/${spaceId}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${token}` },
    }),
  );
}

async function upgradeStatus(
  spaceId: string,
  token: string,
  protocols: string[] = [],
  through: MendServer = rig.server,
) {
  try {
    const socket = await openRawSocket(through, spaceId, { token, protocols });
    socket.close();
    return 101;
  } catch (error) {
    if (error instanceof UpgradeRefused) return error.status;
    throw error;
  }
}

async function openSealed(...args: Parameters<typeof openSealedSocket>): Promise<SealedSocket> {
  const socket = await openSealedSocket(...args);
  sockets.push(socket);
  return socket;
}

describe('a device leaves its space', () => {
  it('sealed: its token gets 401 from then on, its open socket closes, and the partner keeps syncing', async () => {
    const couple = await createSealedCouple(rig.server);
    const alex = await openSealed(rig.server, couple.a);
    const sam = await openSealed(rig.server, couple.b);
    alex.hello();
    sam.hello();
    await alex.waitFor((m) => m.type === SealedMessage.backlog, 'Alex’s backlog');
    await sam.waitFor((m) => m.type === SealedMessage.backlog, 'Sam’s backlog');

    const left = await leave(couple.spaceId, couple.b.token);
    expect(left.status).toBe(204);
    expect(left.setCookies).toEqual([
      `mend_${couple.spaceId}=; Max-Age=0; Path=/sync/${couple.spaceId}; HttpOnly; SameSite=Strict`,
    ]);
    expect((await sam.raw.waitForClose()).code).toBe(CloseCode.revoked);

    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    expect((await get(rig.server, `/sync/${couple.spaceId}`, bearer(couple.b.token))).status).toBe(
      401,
    );
    expect(await upgradeStatus(couple.spaceId, couple.b.token, ['mend-sealed-1'])).toBe(401);
    expect((await leave(couple.spaceId, couple.b.token)).status).toBe(401);

    // Alex's socket stayed open and keeps being served.
    expect(alex.raw.isOpen).toBe(true);
    alex.submit();
    await alex.waitForSeq(1);
    expect((await get(rig.server, `/sync/${couple.spaceId}`, bearer(couple.a.token))).status).toBe(
      200,
    );
  });

  it('plaintext: the partner’s token is cleared and its socket closes; the other partner still syncs', async () => {
    const couple = await createCouple(rig.server);
    const sam = await openRawSocket(rig.server, couple.spaceId, { token: couple.b.token });
    sockets.push(sam);
    await rawSync(sam);

    expect((await leave(couple.spaceId, couple.b.token)).status).toBe(204);
    expect((await sam.waitForClose()).code).toBe(CloseCode.revoked);
    expect(await upgradeStatus(couple.spaceId, couple.b.token)).toBe(401);

    const alex = await openRawSocket(rig.server, couple.spaceId, { token: couple.a.token });
    sockets.push(alex);
    const doc = await rawSync(alex);
    // Sam stays in the document: leaving a device removes nothing the couple wrote.
    expect(JSON.stringify(doc.getMap('partners').toJSON())).toContain('Sam');
  });
});

/** A sync update a partner types: one new text, as y-websocket sends an edit. */
function anEdit(): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('after-leaving').insert(0, 'still syncing');
  return updateMessage(Y.encodeStateAsUpdate(doc));
}

const isSyncUpdate = (message: Uint8Array): boolean => {
  const [type, syncType] = messageKind(message);
  return type === MessageType.sync && syncType === SyncStep.update;
};

describe.skipIf(!databaseUrl || !redisUrl)('a device leaves its space on two nodes', () => {
  async function openRaw(...args: Parameters<typeof openRawSocket>): Promise<RawSocket> {
    const socket = await openRawSocket(...args);
    sockets.push(socket);
    return socket;
  }

  it('sealed: node A answers the DELETE and the device’s socket on node B closes with 4401 within a second; the partner’s sockets on both nodes stay and sync', async () => {
    const [nodeA, nodeB] = await startNodes();
    const couple = await createSealedCouple(nodeA, nodeB);
    spaceIds.push(couple.spaceId);
    const samOnB = await openSealed(nodeB, couple.b);
    const alexOnA = await openSealed(nodeA, couple.a);
    const alexOnB = await openSealed(nodeB, couple.a);
    for (const socket of [samOnB, alexOnA, alexOnB]) {
      socket.hello();
      await socket.waitFor((m) => m.type === SealedMessage.backlog, 'a backlog');
    }

    expect((await leave(couple.spaceId, couple.b.token, nodeA)).status).toBe(204);
    expect((await samOnB.raw.waitForClose(1_000)).code).toBe(CloseCode.revoked);

    expect([alexOnA.raw.isOpen, alexOnB.raw.isOpen]).toEqual([true, true]);
    alexOnA.submit();
    await alexOnB.waitForSeq(1);
    expect(await upgradeStatus(couple.spaceId, couple.b.token, ['mend-sealed-1'], nodeB)).toBe(401);
  });

  it('plaintext: node A answers the DELETE and the partner’s socket on node B closes with 4401 within a second; the other partner’s sockets on both nodes stay and sync', async () => {
    const [nodeA, nodeB] = await startNodes();
    const couple = await createCouple(nodeA, nodeB);
    spaceIds.push(couple.spaceId);
    const samOnB = await openRaw(nodeB, couple.spaceId, { token: couple.b.token });
    const alexOnA = await openRaw(nodeA, couple.spaceId, { token: couple.a.token });
    const alexOnB = await openRaw(nodeB, couple.spaceId, { token: couple.a.token });
    await Promise.all([samOnB, alexOnA, alexOnB].map((socket) => rawSync(socket)));

    expect((await leave(couple.spaceId, couple.b.token, nodeA)).status).toBe(204);
    expect((await samOnB.waitForClose(1_000)).code).toBe(CloseCode.revoked);

    expect([alexOnA.isOpen, alexOnB.isOpen]).toEqual([true, true]);
    alexOnA.send(anEdit());
    await alexOnB.nextMessage(isSyncUpdate, 'Alex’s edit through node A');
    expect(await upgradeStatus(couple.spaceId, couple.b.token, [], nodeB)).toBe(401);
  });
});
