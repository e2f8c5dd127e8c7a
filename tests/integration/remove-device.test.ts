/**
 * Removing a device and the recovery kit against the real server (docs/protocol.md, "Removing a
 * device and new epochs", step 1, and "Recovery kit"; the server's side, with filler keys and
 * boxes): one device removes another, whose token dies and whose sockets close with 4401; a
 * seat's recovery kit is recovered with a signed challenge; the space's devices are listed with
 * when each was last seen. With two nodes on PostgreSQL and Redis, the node that did not answer
 * closes the removed device's sockets too (4401, within a second), a challenge from one node is
 * used on the other, and the failed recoveries of a space count on both.
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { CloseCode, SealedMessage } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { get, postJson, readResponse } from '../support/api.js';
import { UpgradeRefused, openRawSocket } from '../support/clients.js';
import {
  createSealedCouple,
  openSealedSocket,
  type SealedMember,
  type SealedSocket,
} from '../support/sealed.js';
import { type MendServer } from '../support/server.js';
import { databaseUrl, redisUrl, useServerAndNodes } from '../support/serverAndNodes.js';

const rig = useServerAndNodes();
const { sockets, spaceIds, startNodes } = rig;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function open(through: MendServer, member: SealedMember): Promise<SealedSocket> {
  const socket = await openSealedSocket(through, member);
  sockets.push(socket);
  socket.hello();
  await socket.waitFor((m) => m.type === SealedMessage.backlog, 'a backlog');
  return socket;
}

async function remove(through: MendServer, by: SealedMember, signingKey: Uint8Array) {
  return readResponse(
    await fetch(`${through.url}/sync/${by.spaceId}/devices/${b64(signingKey)}`, {
      method: 'DELETE',
      headers: bearer(by.token),
    }),
  );
}

async function upgradeStatus(through: MendServer, member: SealedMember): Promise<number> {
  try {
    const socket = await openRawSocket(through, member.spaceId, {
      token: member.token,
      protocols: ['mend-sealed-1'],
    });
    socket.close();
    return 101;
  } catch (error) {
    if (error instanceof UpgradeRefused) return error.status;
    throw error;
  }
}

interface Listed {
  signingKey: string;
  lastSeenAt: string | null;
  removedAt: string | null;
  recovery: boolean;
}

async function devicesOf(through: MendServer, by: SealedMember): Promise<Listed[]> {
  const listed = await get(through, `/sync/${by.spaceId}/devices`, bearer(by.token));
  expect(listed.status).toBe(200);
  return (listed.json as { devices: Listed[] }).devices;
}

/** The recovery device's keys (Ed25519 from node:crypto; the agreement key is filler). */
function recoveryKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    signingKey: publicKey.export({ format: 'jwk' }).x ?? '',
    agreementKey: b64(randomBytes(32)),
    privateKey,
  };
}

function proof(spaceId: string, challenge: string, privateKey: KeyObject): string {
  return b64(sign(null, Buffer.from(`mend/v1/recover\0${spaceId}\0${challenge}`), privateKey));
}

async function putKit(
  through: MendServer,
  by: SealedMember,
  keys: ReturnType<typeof recoveryKeys>,
) {
  const box = b64(randomBytes(136));
  const response = await readResponse(
    await fetch(`${through.url}/sync/${by.spaceId}/recovery`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', ...bearer(by.token) },
      body: JSON.stringify({
        signingKey: keys.signingKey,
        agreementKey: keys.agreementKey,
        box,
        linkSeq: 1,
      }),
    }),
  );
  expect(response.status).toBe(204);
  return box;
}

/** Asks `challengeFrom` for a challenge and recovers through `recoverThrough`. */
async function recover(
  spaceId: string,
  keys: ReturnType<typeof recoveryKeys>,
  challengeFrom: MendServer,
  recoverThrough: MendServer = challengeFrom,
) {
  const challenged = await postJson(
    challengeFrom,
    `/api/sealed-spaces/${spaceId}/recovery/challenge`,
    {},
  );
  expect(challenged.status).toBe(201);
  const { challenge } = challenged.json as { challenge: string };
  return postJson(recoverThrough, `/api/sealed-spaces/${spaceId}/recovery`, {
    signingKey: keys.signingKey,
    challenge,
    signature: proof(spaceId, challenge, keys.privateKey),
  });
}

describe('removing a device and the recovery kit', () => {
  it('a device removes the partner’s: 204 again and again, its socket closes with 4401, its token is dead; the list shows it', async () => {
    const couple = await createSealedCouple(rig.server);
    const alex = await open(rig.server, couple.a);
    const sam = await open(rig.server, couple.b);

    const removed = await remove(rig.server, couple.a, couple.b.keys.signingKey);
    expect(removed.status).toBe(204);
    expect((await sam.raw.waitForClose()).code).toBe(CloseCode.revoked);
    expect((await remove(rig.server, couple.a, couple.b.keys.signingKey)).status).toBe(204);
    expect((await get(rig.server, `/sync/${couple.spaceId}`, bearer(couple.b.token))).status).toBe(
      401,
    );
    expect(await upgradeStatus(rig.server, couple.b)).toBe(401);

    expect(alex.raw.isOpen).toBe(true);
    alex.submit();
    await alex.waitForSeq(1);
    const devices = await devicesOf(rig.server, couple.a);
    expect(devices.map((d) => [d.signingKey, d.removedAt !== null, d.lastSeenAt !== null])).toEqual(
      [
        [b64(couple.a.keys.signingKey), false, true],
        [b64(couple.b.keys.signingKey), true, true],
      ],
    );
  });

  it('recovers a seat with its kit after a restart, and the recovery device syncs in that seat', async () => {
    const couple = await createSealedCouple(rig.server);
    const keys = recoveryKeys();
    const box = await putKit(rig.server, couple.a, keys);
    await rig.restartServer();

    const recovered = await recover(couple.spaceId, keys, rig.server);
    expect(recovered.status).toBe(201);
    const answer = recovered.json as { partnerId: string; token: string; box: string };
    expect(answer).toMatchObject({
      partnerId: couple.a.partnerId,
      box,
      creator: { signingKey: b64(couple.a.keys.signingKey) },
    });
    expect(recovered.setCookies).toEqual([
      `mend_${couple.spaceId}=${answer.token}; Path=/sync/${couple.spaceId}; HttpOnly; SameSite=Strict; Max-Age=34560000`,
    ]);
    const member: SealedMember = {
      spaceId: couple.spaceId,
      partnerId: answer.partnerId,
      token: answer.token,
      keys: {
        signingKey: new Uint8Array(Buffer.from(keys.signingKey, 'base64url')),
        agreementKey: new Uint8Array(Buffer.from(keys.agreementKey, 'base64url')),
      },
    };
    const socket = await open(rig.server, member);
    socket.submit();
    await socket.waitForSeq(1);
    const listed = await devicesOf(rig.server, couple.b);
    expect(listed.find((d) => d.recovery)).toMatchObject({
      signingKey: keys.signingKey,
      removedAt: null,
    });
    // Used up: a device of the seat removes the recovery device, whose socket closes.
    expect((await remove(rig.server, couple.a, member.keys.signingKey)).status).toBe(204);
    expect((await socket.raw.waitForClose()).code).toBe(CloseCode.revoked);
  });
});

describe.skipIf(!databaseUrl || !redisUrl)('removing a device on two nodes', () => {
  it('node A answers the removal and the device’s socket on node B closes with 4401 within a second; the partner’s sockets on both nodes stay and sync', async () => {
    const [nodeA, nodeB] = await startNodes();
    const couple = await createSealedCouple(nodeA, nodeB);
    spaceIds.push(couple.spaceId);
    const samOnB = await open(nodeB, couple.b);
    const alexOnA = await open(nodeA, couple.a);
    const alexOnB = await open(nodeB, couple.a);

    expect((await remove(nodeA, couple.a, couple.b.keys.signingKey)).status).toBe(204);
    expect((await samOnB.raw.waitForClose(1_000)).code).toBe(CloseCode.revoked);

    expect([alexOnA.raw.isOpen, alexOnB.raw.isOpen]).toEqual([true, true]);
    alexOnA.submit();
    await alexOnB.waitForSeq(1);
    expect(await upgradeStatus(nodeB, couple.b)).toBe(401);
    const devices = await devicesOf(nodeB, couple.a);
    expect(devices.map((d) => d.removedAt !== null)).toEqual([false, true]);
  });

  it('a challenge from one node is used on the other; failed recoveries of a space count on both', async () => {
    const [nodeA, nodeB] = await startNodes();
    const couple = await createSealedCouple(nodeA, nodeB);
    spaceIds.push(couple.spaceId);
    const keys = recoveryKeys();
    await putKit(nodeA, couple.a, keys);
    expect((await recover(couple.spaceId, keys, nodeA, nodeB)).status).toBe(201);

    const stranger = recoveryKeys();
    for (let i = 0; i < 5; i++) {
      const through = i % 2 === 0 ? nodeA : nodeB;
      expect((await recover(couple.spaceId, stranger, through)).status).toBe(403);
    }
    const limited = await recover(couple.spaceId, keys, nodeB, nodeA);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(3500);
  });
});
