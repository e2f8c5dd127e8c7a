/**
 * Linking a device against the real server (docs/protocol.md, "Linking a device"; the devices
 * here are filler keys and envelopes, the server's side is what is tested): Alex's device offers
 * a link, a new device claims it, Alex's device writes its link statement and confirms, the new
 * device collects its token and syncs in Alex's seat; a restart in between loses nothing.
 */
import { randomBytes } from 'node:crypto';
import { EnvelopeKind, SealedMessage, ZERO_HASH, type ServerMessage } from '@mend/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, postJson, readResponse } from '../support/api.js';
import {
  createSealedCouple,
  fillerEnvelope,
  newDeviceKeys,
  openSealedSocket,
  SealedStream,
  type SealedMember,
  type SealedSocket,
} from '../support/sealed.js';
import { startServer, type MendServer } from '../support/server.js';

let server: MendServer;
const sockets: SealedSocket[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await server?.dispose();
});

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function open(member: SealedMember, stream?: SealedStream): Promise<SealedSocket> {
  const socket = await openSealedSocket(server, member, stream);
  sockets.push(socket);
  return socket;
}

const isAck = (m: ServerMessage) => m.type === SealedMessage.ack;

describe('linking a device', () => {
  it('adds the new device to the seat that offered, with its own token, and it syncs there', async () => {
    const couple = await createSealedCouple(server);
    const { spaceId, a: alex } = couple;
    const links = `/api/sealed-spaces/${spaceId}/links`;
    const linkCode = b64(randomBytes(16));
    const offered = await postJson(server, links, { linkCode }, bearer(alex.token));
    expect(offered.status).toBe(201);
    const { linkId } = offered.json as { linkId: string };

    const keys = newDeviceKeys();
    const claim = {
      linkCode,
      claimCode: b64(randomBytes(16)),
      signingKey: b64(keys.signingKey),
      agreementKey: b64(keys.agreementKey),
    };
    expect((await postJson(server, `${links}/claim`, claim)).json).toEqual({
      linkId,
      state: 'claimed',
    });
    expect((await get(server, `${links}/${linkId}`, bearer(alex.token))).json).toEqual({
      state: 'claimed',
      device: { signingKey: claim.signingKey, agreementKey: claim.agreementKey },
    });

    // Alex's device writes the link statement, and confirms with the seq the server gave it.
    const stream = new SealedStream(alex);
    const e = await open(alex, stream);
    e.hello();
    const statement = fillerEnvelope({
      kind: EnvelopeKind.keys,
      spaceId,
      author: alex.keys.signingKey,
      stream: stream.stream,
      counter: 1,
      prev: ZERO_HASH,
    });
    stream.chain.push(statement);
    e.submit(statement);
    const ack = await e.waitFor(isAck, 'the ack of the link statement');
    const linkSeq = ack.type === SealedMessage.ack ? ack.seq : -1;
    const box = b64(randomBytes(40 * 2 + 96));
    const confirmed = await postJson(
      server,
      `${links}/${linkId}/confirm`,
      { box, linkSeq },
      bearer(alex.token),
    );
    expect(confirmed.status).toBe(204);

    // Nothing of it lives only in memory.
    // The new process is the one to dispose after all tests.
    server = await server.restart();

    const collected = await postJson(server, `${links}/claim`, claim);
    expect(collected.status).toBe(201);
    const answer = collected.json as { token: string; partnerId: string };
    expect(answer).toMatchObject({
      spaceId,
      partnerId: alex.partnerId,
      box,
      linkSeq,
      creator: { signingKey: b64(alex.keys.signingKey), agreementKey: b64(alex.keys.agreementKey) },
    });
    expect(collected.setCookies).toEqual([
      `mend_${spaceId}=${answer.token}; Path=/sync/${spaceId}; HttpOnly; SameSite=Strict; Max-Age=34560000`,
    ]);
    expect((await get(server, `/sync/${spaceId}`, bearer(answer.token))).json).toEqual({
      spaceId,
      partnerId: alex.partnerId,
      sealed: true,
      signingKey: claim.signingKey,
    });

    // The new device reads the link statement, then writes its own member statement, which
    // Alex's device (reconnected after the restart) receives.
    const n: SealedMember = { spaceId, partnerId: alex.partnerId, token: answer.token, keys };
    const nSocket = await open(n);
    nSocket.hello();
    expect(await nSocket.waitForSeq(linkSeq)).toEqual([linkSeq]);
    const e2 = await open(alex, stream);
    e2.hello(linkSeq);
    await e2.waitFor((m) => m.type === SealedMessage.backlog, 'Alex’s backlog');
    const member = fillerEnvelope({
      kind: EnvelopeKind.member,
      spaceId,
      author: keys.signingKey,
      stream: nSocket.stream.stream,
      counter: 1,
      prev: ZERO_HASH,
    });
    nSocket.submit(member);
    await e2.waitForSeq(linkSeq + 1, 'the new device’s member statement');

    // The link is spent for anyone else, and the same claim keeps working for ten minutes only.
    const other = { ...claim, claimCode: b64(randomBytes(16)) };
    expect((await postJson(server, `${links}/claim`, other)).status).toBe(409);
    const ended = await readResponse(
      await fetch(`${server.url}${links}/${linkId}`, {
        method: 'DELETE',
        headers: bearer(alex.token),
      }),
    );
    expect(ended.status).toBe(204);
    expect((await postJson(server, `${links}/claim`, claim)).status).toBe(404);
    // The token the new device collected stays its own.
    expect((await get(server, `/sync/${spaceId}`, bearer(answer.token))).status).toBe(200);
  });
});
