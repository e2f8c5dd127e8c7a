import { CloseCode, closeReason } from '@mend/protocol';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCouple, type Couple } from '../support/api.js';
import {
  fetchDocument,
  openProvider,
  openRawSocket,
  type RawSocket,
  rawSync,
  trackProviders,
  updateMessage,
  waitForDoc,
  waitForSynced,
} from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';
import { copyDoc } from '../support/streams.js';

const providers = trackProviders();
const rawSockets: RawSocket[] = [];

afterEach(() => {
  providers.destroyAll();
  for (const socket of rawSockets.splice(0)) socket.close();
});

async function connected(server: MendServer, couple: Couple, who: 'a' | 'b') {
  const client = providers.track(openProvider(server, couple.spaceId, couple[who].token));
  await waitForSynced(client.provider);
  return client;
}

async function rawPartner(server: MendServer, couple: Couple) {
  const socket = await openRawSocket(server, couple.spaceId, {
    token: couple.a.token,
    maxPayload: 64 * 1024 * 1024,
  });
  rawSockets.push(socket);
  return { socket, doc: await rawSync(socket) };
}

/** An edit in one partner's space reaches the other partner and a fresh device. */
async function stillSyncs(server: MendServer, couple: Couple, text: string): Promise<void> {
  const a = await connected(server, couple, 'a');
  const b = await connected(server, couple, 'b');
  a.doc.getText('note').insert(0, text);
  await waitForDoc(b.doc, () => b.doc.getText('note').toString() === text, 'the partner');
  const fresh = await fetchDocument(server, couple.spaceId, couple.b.token);
  expect(fresh.getText('note').toString()).toBe(text);
}

describe('a socket streaming big messages', () => {
  let server: MendServer;
  beforeAll(async () => {
    server = await startServer({ env: { MEND_LOG_LEVEL: 'debug' } });
  });
  afterAll(async () => {
    await server.dispose();
  });

  it("is cut off with 1013 past its byte budget while another space's partners keep syncing", async () => {
    const heavy = await createCouple(server);
    const calm = await createCouple(server);
    const { socket, doc } = await rawPartner(server, heavy);
    // Each message is within MEND_MAX_MESSAGE_BYTES (16 MiB); together they are far past the
    // 32 MiB burst. After the first, they repeat what the room already has, so only the byte
    // budget can stop them.
    const before = Y.encodeStateVector(doc);
    doc.getText('bulk').insert(0, 'x'.repeat(12 * 1024 * 1024));
    const big = updateMessage(Y.encodeStateAsUpdate(doc, before));
    for (let i = 0; i < 6; i++) socket.send(big);

    await stillSyncs(server, calm, 'we are still talking');

    const closed = await socket.waitForClose(30_000);
    expect(closed.code).toBe(CloseCode.tooMany);
    expect(server.logs.some((line) => line.reason === 'too-many-bytes')).toBe(true);
  });
});

describe('a space at its stored-bytes quota', () => {
  let server: MendServer;
  beforeAll(async () => {
    server = await startServer({ env: { MEND_MAX_SPACE_BYTES: String(64 * 1024) } });
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('refuses the update that would pass it with 4507, keeps the stored document as it was, and leaves other spaces alone', async () => {
    const full = await createCouple(server);
    const other = await createCouple(server);
    const partner = await connected(server, full, 'b');
    const { socket, doc } = await rawPartner(server, full);
    const text = doc.getText('filler');
    let accepted = copyDoc(doc);
    let refused = -1;
    for (let i = 0; i < 20 && refused === -1; i++) {
      const before = Y.encodeStateVector(doc);
      text.insert(text.length, `[chunk ${i}]`.padEnd(8_000, '.'));
      socket.send(updateMessage(Y.encodeStateAsUpdate(doc, before)));
      const length = text.length;
      const outcome = await Promise.race([
        socket.closed.then(() => 'refused' as const),
        waitForDoc(
          partner.doc,
          () => partner.doc.getText('filler').length === length,
          `chunk ${i} to reach the partner`,
        ).then(() => 'stored' as const),
      ]);
      if (outcome === 'stored') accepted = copyDoc(doc);
      else refused = i;
    }

    const closed = await socket.waitForClose();
    expect(closed).toEqual({ code: CloseCode.spaceFull, reason: closeReason[CloseCode.spaceFull] });
    expect(refused).toBeGreaterThan(0);
    const kept = accepted.getText('filler').toString();
    const stored = await fetchDocument(server, full.spaceId, full.b.token);
    expect(stored.getText('filler').toString()).toBe(kept);
    expect(kept).not.toContain(`[chunk ${refused}]`);
    // The partner who was only reading is still connected and up to date.
    expect(partner.provider.wsconnected).toBe(true);
    expect(partner.doc.getText('filler').toString()).toBe(kept);

    await stillSyncs(server, other, 'another space, untouched');
  });
});
