import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createCouple } from '../support/api.js';
import {
  containsAll,
  fetchDocument,
  nextClose,
  openProvider,
  openRawSocket,
  rawSync,
  trackProviders,
  updateMessage,
  waitForDoc,
  waitForSynced,
} from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';
import { copyDoc, editsWithPrefix, streamEdits } from '../support/streams.js';

let server: MendServer | undefined;
const providers = trackProviders();
const { track } = providers;

afterEach(async () => {
  providers.destroyAll();
  await server?.dispose();
  server = undefined;
});

describe('a crash (kill -9) during a stream of edits', () => {
  it('keeps, round after round, everything partner B received before the crash', async () => {
    server = await startServer();
    const couple = await createCouple(server);
    // A keeps its document across the crashes, like a phone that stays open.
    const a = track(openProvider(server, couple.spaceId, couple.a.token));

    for (let round = 0; round < 3; round++) {
      const b = track(openProvider(server, couple.spaceId, couple.b.token));
      await Promise.all([waitForSynced(a.provider), waitForSynced(b.provider)]);

      const bClosed = nextClose(b.provider, 'B');
      const stream = await streamEdits(a.doc, b.doc, `r${round}:`, 40 + round * 30);
      await server.kill();
      stream.stop();
      await bClosed;
      b.provider.destroy();
      const receivedByB = copyDoc(b.doc);
      const editsAtB = editsWithPrefix(receivedByB, `r${round}:`);
      expect(editsAtB.length).toBeGreaterThanOrEqual(40 + round * 30);

      server = await server.restart();
      const stored = await fetchDocument(server, couple.spaceId, couple.b.token);
      expect(containsAll(stored, receivedByB)).toBe(true);
      expect(editsWithPrefix(stored, `r${round}:`)).toEqual(
        expect.arrayContaining(editsAtB) as string[],
      );
    }

    // A reconnects after the last crash and hands over what the server never got.
    const c = track(openProvider(server, couple.spaceId, couple.b.token));
    await waitForDoc(c.doc, () => containsAll(c.doc, a.doc), "all of A's edits at the server");
    expect(a.provider.shouldConnect).toBe(true);
  });
});

describe('a graceful stop (SIGTERM) during a stream of edits', () => {
  it('closes every socket with 1001, exits 0 within 10 s and keeps everything it relayed', async () => {
    server = await startServer();
    const couple = await createCouple(server);
    const a = track(openProvider(server, couple.spaceId, couple.a.token));
    const b = track(openProvider(server, couple.spaceId, couple.b.token));
    await Promise.all([waitForSynced(a.provider), waitForSynced(b.provider)]);
    const raw = await openRawSocket(server, couple.spaceId, { token: couple.b.token });
    await rawSync(raw);

    const aClosed = nextClose(a.provider, 'A');
    const bClosed = nextClose(b.provider, 'B');
    const stream = await streamEdits(a.doc, b.doc, 'term:', 50);
    const stoppingAt = performance.now();
    const exit = await server.stop({ timeoutMs: 20_000 });
    const stopTook = performance.now() - stoppingAt;
    stream.stop();

    expect(exit).toEqual({ code: 0, signal: null });
    expect(stopTook).toBeLessThan(10_000);
    expect(await aClosed).toBe(1001);
    expect(await bClosed).toBe(1001);
    expect((await raw.waitForClose()).code).toBe(1001);
    b.provider.destroy();
    const receivedByB = copyDoc(b.doc);

    server = await server.restart();
    const stored = await fetchDocument(server, couple.spaceId, couple.b.token);
    expect(containsAll(stored, receivedByB)).toBe(true);
    expect(editsWithPrefix(stored, 'term:').length).toBeGreaterThanOrEqual(50);
  });
});

describe('compaction', () => {
  it('loses nothing while many edits stream in from several devices, across a crash', async () => {
    server = await startServer();
    const couple = await createCouple(server);
    const b = track(openProvider(server, couple.spaceId, couple.b.token));
    // Several sockets so the stream passes the compaction threshold without tripping the
    // per-socket message rate limit.
    const writers = [0, 1, 2, 3].map(() =>
      track(openProvider(server!, couple.spaceId, couple.a.token)),
    );
    await Promise.all([b, ...writers].map((client) => waitForSynced(client.provider)));

    const streams = await Promise.all(
      writers.map((writer, index) => streamEdits(writer.doc, b.doc, `w${index}:`, 300)),
    );
    for (const stream of streams) stream.stop();
    const receivedByB = copyDoc(b.doc);
    expect(receivedByB.getArray('edits').length).toBeGreaterThanOrEqual(1_200);

    await server.kill();
    server = await server.restart();
    const stored = await fetchDocument(server, couple.spaceId, couple.b.token);
    expect(containsAll(stored, receivedByB)).toBe(true);
    expect(stored.getArray('edits').length).toBeGreaterThanOrEqual(1_200);
  });
});

describe('a graceful stop while devices are busy sending', () => {
  it('still closes every socket with 1001 and keeps everything it relayed', async () => {
    server = await startServer();
    const couple = await createCouple(server);
    const b = track(openProvider(server, couple.spaceId, couple.b.token));
    const writers = await Promise.all(
      [0, 1, 2, 3].map(() => openRawSocket(server!, couple.spaceId, { token: couple.a.token })),
    );
    await Promise.all([waitForSynced(b.provider), ...writers.map((socket) => rawSync(socket))]);
    const bClosed = nextClose(b.provider, 'B');

    const stopping = server.stop({ timeoutMs: 20_000 });
    // Each device keeps typing as the signal lands: 150 small valid updates, inside the
    // per-socket burst, so only the shutdown is under test.
    const docs = writers.map(() => new Y.Doc());
    for (let i = 0; i < 150; i++) {
      writers.forEach((socket, index) => {
        const doc = docs[index]!;
        let update: Uint8Array | undefined;
        doc.once('update', (u: Uint8Array) => (update = u));
        doc.getText('typing').insert(0, `${index}:${i} `.padEnd(100, '.'));
        if (socket.isOpen && update) socket.send(updateMessage(update));
      });
    }

    expect(await stopping).toEqual({ code: 0, signal: null });
    const codes = await Promise.all(writers.map(async (socket) => (await socket.closed).code));
    expect(codes).toEqual([1001, 1001, 1001, 1001]);
    expect(await bClosed).toBe(1001);
    b.provider.destroy();
    const receivedByB = copyDoc(b.doc);

    server = await server.restart();
    const stored = await fetchDocument(server, couple.spaceId, couple.b.token);
    expect(containsAll(stored, receivedByB)).toBe(true);
  });
});

describe('a graceful stop (SIGINT)', () => {
  it('closes sockets with 1001 and exits 0, like SIGTERM', async () => {
    server = await startServer();
    const couple = await createCouple(server);
    const raw = await openRawSocket(server, couple.spaceId, { token: couple.a.token });
    await rawSync(raw);
    const exit = await server.stop({ signal: 'SIGINT', timeoutMs: 20_000 });
    expect(exit).toEqual({ code: 0, signal: null });
    expect((await raw.waitForClose()).code).toBe(1001);
  });
});

describe('loading after a restart', () => {
  it('tells a client it is synced only once the whole stored document is loaded', async () => {
    server = await startServer();
    const couple = await createCouple(server);
    const a = track(openProvider(server, couple.spaceId, couple.a.token));
    await waitForSynced(a.provider);
    // About 2 MB, the size of a five-year space, in 200 updates: well inside the per-socket
    // message burst, so only loading is under test.
    const paragraph = 'We talked for a long time tonight and it helped. '.repeat(200);
    for (let i = 0; i < 200; i++) a.doc.getText('journal').insert(0, paragraph);
    const written = copyDoc(a.doc);
    const c = track(openProvider(server, couple.spaceId, couple.b.token));
    await waitForDoc(c.doc, () => containsAll(c.doc, written), 'the whole journal at the server');
    a.provider.destroy();
    c.provider.destroy();

    server = await server.restart();
    // Two devices reconnect at once, racing the room's load.
    const [first, second] = await Promise.all([
      fetchDocument(server, couple.spaceId, couple.a.token),
      fetchDocument(server, couple.spaceId, couple.b.token),
    ]);
    expect(containsAll(first, written)).toBe(true);
    expect(containsAll(second, written)).toBe(true);
    expect(first.getText('journal').length).toBe(written.getText('journal').length);
  });
});
