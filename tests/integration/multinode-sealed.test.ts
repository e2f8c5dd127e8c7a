/**
 * A sealed space served by two real server processes sharing PostgreSQL and Redis: one order of
 * envelopes across both, presence across both, and a node that missed an envelope on Redis
 * reading it from PostgreSQL before relaying the next one.
 */
import { EnvelopeKind, SealedMessage, ZERO_HASH } from '@mend/protocol';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { gauge } from '../support/api.js';
import {
  createSealedCouple,
  envelopeHash,
  fillerEnvelope,
  ofType,
  servedBySeq,
  openSealedSocket,
  type SealedSocket,
} from '../support/sealed.js';
import { startServer, type MendServer } from '../support/server.js';

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!databaseUrl || !redisUrl) {
  console.log('sealed multi-node tests skipped: set DATABASE_URL and REDIS_URL to run them');
}

const nodes: MendServer[] = [];
const sockets: SealedSocket[] = [];
const spaceIds: string[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(nodes.splice(0).map((node) => node.dispose()));
});

afterAll(async () => {
  if (!databaseUrl || spaceIds.length === 0) return;
  // Devices, envelopes, stream heads and snapshots go with their space (ON DELETE CASCADE).
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query('DELETE FROM spaces WHERE space_id = ANY($1)', [spaceIds]);
  } finally {
    await db.end();
  }
});

async function startNodes(): Promise<[MendServer, MendServer]> {
  const env = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl };
  const started = await Promise.all([startServer({ env }), startServer({ env })]);
  nodes.push(...started);
  return started;
}

async function open(...args: Parameters<typeof openSealedSocket>): Promise<SealedSocket> {
  const socket = await openSealedSocket(...args);
  sockets.push(socket);
  return socket;
}

describe.skipIf(!databaseUrl || !redisUrl)('a sealed space on two server processes', () => {
  it('created through node 1 and joined through node 2, its devices share one order of envelopes and see each other', async () => {
    const [node1, node2] = await startNodes();
    const couple = await createSealedCouple(node1, node2);
    spaceIds.push(couple.spaceId);
    const a = await open(node1, couple.a);
    const b = await open(node2, couple.b);
    a.hello();
    b.hello();
    await a.waitFor((m) => m.type === SealedMessage.backlog, 'A’s backlog');
    await b.waitFor((m) => m.type === SealedMessage.backlog, 'B’s backlog');

    for (let i = 0; i < 5; i++) {
      a.submit();
      b.submit();
    }
    const atA = await a.waitForSeq(10);
    const atB = await b.waitForSeq(10);
    expect(atA).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(atB).toEqual(atA);
    // What node 2 relayed to B as A's is exactly what A sent through node 1.
    const sentByA = a.stream.chain.map((e) => Buffer.from(e).toString('hex'));
    const relayedToB = ofType(b.messages, SealedMessage.envelope).map((m) =>
      Buffer.from(m.envelope).toString('hex'),
    );
    expect(relayedToB).toEqual(sentByA);

    const presence = a.presence();
    const relayed = await b.waitFor(
      (m) => m.type === SealedMessage.presenceRelay,
      'A’s presence at B',
    );
    expect(relayed.type === SealedMessage.presenceRelay && Buffer.from(relayed.envelope)).toEqual(
      Buffer.from(presence),
    );
    a.close();
    const left = await b.waitFor((m) => m.type === SealedMessage.left, 'A leaving, at B');
    expect(left).toEqual({
      type: SealedMessage.left,
      author: couple.a.keys.signingKey,
      stream: a.stream.stream,
    });
  });

  it('a node that missed an envelope on Redis reads it from PostgreSQL before relaying the next one', async () => {
    const [node1, node2] = await startNodes();
    const couple = await createSealedCouple(node1, node2);
    spaceIds.push(couple.spaceId);
    const a = await open(node1, couple.a);
    const b = await open(node2, couple.b);
    a.hello();
    b.hello();
    a.submit();
    await b.waitForSeq(1);

    // Stored by a device whose node never published it: only PostgreSQL knows.
    const missed = await storeWithoutPublishing(couple.spaceId, 2);
    a.submit();
    const seqs = await b.waitForSeq(3);
    expect(seqs).toEqual([1, 2, 3]);
    // Seq 1 may have reached B in its backlog (its hello read storage after A's first append).
    expect(Buffer.from(servedBySeq(b.messages).get(2) ?? [])).toEqual(Buffer.from(missed));
    expect(await gauge(node2, 'mend_sealed_gap_loads_total')).toBeGreaterThanOrEqual(1);
  });
});

/** Writes an envelope of a third device at `seq` straight into PostgreSQL, as a node would. */
async function storeWithoutPublishing(spaceId: string, seq: number): Promise<Uint8Array> {
  const author = new Uint8Array(32).fill(7);
  const envelope = fillerEnvelope({
    kind: EnvelopeKind.update,
    spaceId: spaceId as never,
    author,
    stream: 4242,
    counter: 1,
    prev: ZERO_HASH,
  });
  const hash = envelopeHash(envelope);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query('BEGIN');
    await db.query(
      `INSERT INTO sealed_envelopes (space_id, seq, stream, counter, hash, data)
       VALUES ($1, $2, 4242, 1, $3, $4)`,
      [spaceId, seq, hash, envelope],
    );
    await db.query(
      `INSERT INTO sealed_streams (space_id, stream, author, counter, hash)
       VALUES ($1, 4242, $2, 1, $3)`,
      [spaceId, author, hash],
    );
    await db.query('COMMIT');
  } finally {
    await db.end();
  }
  return envelope;
}
