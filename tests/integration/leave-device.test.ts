/**
 * "Remove Mend from this device" against the real server: `DELETE /sync/:spaceId` revokes the
 * device's token for good and closes its open sockets, and the partner keeps syncing.
 */
import { CloseCode, SealedMessage } from '@mend/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCouple, get, readResponse } from '../support/api.js';
import { openRawSocket, rawSync, UpgradeRefused } from '../support/clients.js';
import { createSealedCouple, openSealedSocket, type SealedSocket } from '../support/sealed.js';
import { startServer, type MendServer } from '../support/server.js';

let server: MendServer;
const sockets: { close(): void }[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await server?.dispose();
});

async function leave(spaceId: string, token: string) {
  return readResponse(
    await fetch(`${server.url}/sync/${spaceId}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${token}` },
    }),
  );
}

async function upgradeStatus(spaceId: string, token: string, protocols: string[] = []) {
  try {
    const socket = await openRawSocket(server, spaceId, { token, protocols });
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
    const couple = await createSealedCouple(server);
    const alex = await openSealed(server, couple.a);
    const sam = await openSealed(server, couple.b);
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
    expect((await get(server, `/sync/${couple.spaceId}`, bearer(couple.b.token))).status).toBe(401);
    expect(await upgradeStatus(couple.spaceId, couple.b.token, ['mend-sealed-1'])).toBe(401);
    expect((await leave(couple.spaceId, couple.b.token)).status).toBe(401);

    // Alex's socket stayed open and keeps being served.
    expect(alex.raw.isOpen).toBe(true);
    alex.submit();
    await alex.waitForSeq(1);
    expect((await get(server, `/sync/${couple.spaceId}`, bearer(couple.a.token))).status).toBe(200);
  });

  it('plaintext: the partner’s token is cleared and its socket closes; the other partner still syncs', async () => {
    const couple = await createCouple(server);
    const sam = await openRawSocket(server, couple.spaceId, { token: couple.b.token });
    sockets.push(sam);
    await rawSync(sam);

    expect((await leave(couple.spaceId, couple.b.token)).status).toBe(204);
    expect((await sam.waitForClose()).code).toBe(CloseCode.revoked);
    expect(await upgradeStatus(couple.spaceId, couple.b.token)).toBe(401);

    const alex = await openRawSocket(server, couple.spaceId, { token: couple.a.token });
    sockets.push(alex);
    const doc = await rawSync(alex);
    // Sam stays in the document: leaving a device removes nothing the couple wrote.
    expect(JSON.stringify(doc.getMap('partners').toJSON())).toContain('Sam');
  });
});
