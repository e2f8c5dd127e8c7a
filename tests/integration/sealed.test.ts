/**
 * Sealed spaces against the real server (`server/dist/main.js`, SQLite): create and join over
 * HTTP, the sealed socket's order and durability, reconnecting with `since`, idempotent resends,
 * and the upgrade's refusals. Envelopes carry filler bytes: the server never verifies them.
 */
import { CloseCode, EnvelopeKind, SEALED_SUBPROTOCOL, SealedMessage } from '@mend/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../support/api.js';
import { openRawSocket, upgradeRequest } from '../support/clients.js';
import {
  SealedStream,
  createSealedCouple,
  envelopeHash,
  fillerEnvelope,
  ofType,
  openSealedSocket,
  seqsOf,
  type SealedSocket,
} from '../support/sealed.js';
import { startServer, type MendServer } from '../support/server.js';

let server: MendServer;
const sockets: SealedSocket[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

afterAll(async () => {
  await server?.dispose();
});

async function open(...args: Parameters<typeof openSealedSocket>): Promise<SealedSocket> {
  const socket = await openSealedSocket(...args);
  sockets.push(socket);
  return socket;
}

describe('a sealed space on the real server', () => {
  it('two devices that created and joined it over HTTP exchange envelopes, stored once, in one order', async () => {
    const couple = await createSealedCouple(server);
    const a = await open(server, couple.a);
    const b = await open(server, couple.b);
    a.hello();
    b.hello();
    await a.waitFor((m) => m.type === SealedMessage.backlog, 'A’s backlog');
    await b.waitFor((m) => m.type === SealedMessage.backlog, 'B’s backlog');

    const sentByA = [a.submit(), a.submit()];
    await a.waitForSeq(2);
    const sentByB = b.submit();
    await b.waitForSeq(3);
    a.submit();
    expect(await a.waitForSeq(4)).toEqual([1, 2, 3, 4]);
    expect(await b.waitForSeq(4)).toEqual([1, 2, 3, 4]);

    expect(ofType(a.messages, SealedMessage.ack).map((m) => m.seq)).toEqual([1, 2, 4]);
    expect(ofType(b.messages, SealedMessage.ack).map((m) => m.seq)).toEqual([3]);
    const atB = ofType(b.messages, SealedMessage.envelope);
    expect(atB.slice(0, 2).map((m) => Buffer.from(m.envelope))).toEqual(
      sentByA.map((e) => Buffer.from(e)),
    );
    const atA = ofType(a.messages, SealedMessage.envelope);
    expect(atA.map((m) => [m.seq, Buffer.from(m.envelope)])).toEqual([[3, Buffer.from(sentByB)]]);
  });

  it('a device reconnects with since, gets only what it lacks, and its resend is acked with its seq and stored once', async () => {
    const couple = await createSealedCouple(server);
    const a = await open(server, couple.a);
    const bStream = new SealedStream(couple.b);
    const b = await open(server, couple.b, bStream);
    a.hello();
    b.hello();
    const fromB = b.submit();
    await b.waitForSeq(1);
    a.submit();
    await b.waitForSeq(2);
    b.close();

    a.submit();
    a.submit();
    await a.waitForSeq(4);
    const back = await open(server, couple.b, bStream);
    back.hello(2);
    back.submit(fromB);
    const backlog = await back.waitFor((m) => m.type === SealedMessage.backlog, 'the backlog');
    expect(backlog).toMatchObject({ head: 4, last: true });
    expect(seqsOf([backlog])).toEqual([3, 4]);
    const ack = await back.waitFor((m) => m.type === SealedMessage.ack, 'the resend’s ack');
    expect(ack).toEqual({ type: SealedMessage.ack, stream: bStream.stream, counter: 1, seq: 1 });

    // Stored once: a device that reads everything sees four envelopes.
    const reader = await open(server, couple.a);
    reader.hello(0);
    const all = await reader.waitFor((m) => m.type === SealedMessage.backlog, 'everything');
    expect(seqsOf([all])).toEqual([1, 2, 3, 4]);
  });

  it('keeps every acknowledged envelope across a restart', async () => {
    const couple = await createSealedCouple(server);
    const a = await open(server, couple.a);
    a.hello();
    const sent = [a.submit(), a.submit(), a.submit()];
    await a.waitForSeq(3);
    a.close();
    server = await server.restart();

    const b = await open(server, couple.b);
    b.hello(0);
    const backlog = await b.waitFor((m) => m.type === SealedMessage.backlog, 'the backlog');
    expect(
      backlog.type === SealedMessage.backlog && backlog.entries.map((e) => Buffer.from(e.envelope)),
    ).toEqual(sent.map((e) => Buffer.from(e)));
  });

  it('closes with 4409 a device that writes as another device, and serves the other one on', async () => {
    const couple = await createSealedCouple(server);
    const a = await open(server, couple.a);
    const b = await open(server, couple.b);
    a.hello();
    b.hello();
    const claimed = a.submit();
    await b.waitForSeq(1);
    b.submit(
      fillerEnvelope({
        kind: EnvelopeKind.update,
        spaceId: couple.spaceId,
        author: couple.a.keys.signingKey,
        stream: a.stream.stream,
        counter: 2,
        prev: envelopeHash(claimed),
      }),
    );
    expect((await b.raw.waitForClose()).code).toBe(CloseCode.chainConflict);
    a.submit();
    expect(await a.waitForSeq(2)).toEqual([1, 2]);
  });

  it('refuses the sealed subprotocol for a plaintext space with 409 before any WebSocket byte, and closes a plaintext socket of a sealed space with 4410', async () => {
    const couple = await createSealedCouple(server);
    const plain = await postJson(server, '/api/spaces', { displayName: 'Robin' });
    const plainSpace = plain.json as { spaceId: string; token: string };
    const answer = await upgradeRequest(server, `/sync/${plainSpace.spaceId}`, {
      Authorization: `Bearer ${plainSpace.token}`,
      'Sec-WebSocket-Protocol': SEALED_SUBPROTOCOL,
    });
    expect(answer.upgraded).toBe(false);
    expect(answer.status).toBe(409);
    expect(JSON.parse(answer.body.toString('utf8'))).toEqual({ error: expect.any(String) });
    // A plaintext client of a sealed space (one sealed since it last opened) is told so.
    const socket = await openRawSocket(server, couple.spaceId, { token: couple.a.token });
    expect((await socket.waitForClose()).code).toBe(CloseCode.sealedNow);
    expect(socket.messages).toEqual([]);
  });
});
