/**
 * Converting a plaintext space, as the server does it (docs/protocol.md, "Converting a plaintext
 * space"), against the real server: a canary sentence written into a plaintext space (its name,
 * both display names, an agreement, compacted into a snapshot and in later updates) is readable in
 * the server's storage before the conversion, and in none of it after (SQLite: the database, its
 * WAL and shared-memory files; PostgreSQL: every row of every table), while the partner's old
 * token opens the sealed log, whose two envelopes and key box give back the whole document. With
 * two nodes, the node that did not convert closes its plaintext sockets too (4410, over Redis).
 * Envelopes and boxes are made with @mend/sealed, as a device makes them.
 */
import { proposeAgreement, type PartnerId } from '@mend/model';
import {
  CloseCode,
  EnvelopeKind,
  SealedMessage,
  type SealedKeyResponse,
  type SpaceId,
} from '@mend/protocol';
import {
  SpaceKeyring,
  StreamWriter,
  boxOpen,
  boxSeal,
  decodeWelcomePayload,
  encodeMemberPayload,
  encodeWelcomePayload,
  fromBase64Url,
  newDeviceIdentity,
  newSpaceKey,
  openEnvelope,
  sealEnvelope,
  toBase64Url,
  type DeviceIdentity,
} from '@mend/sealed';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createSpace, get, joinSpace, postJson } from '../support/api.js';
import {
  nextClose,
  openProvider,
  openRawSocket,
  waitForDoc,
  waitForSynced,
} from '../support/clients.js';
import { SealedSocket, SealedStream } from '../support/sealed.js';
import { startServer, type MendServer } from '../support/server.js';
import { dataFiles, holding, rowsHolding } from '../support/storageProbe.js';

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;

const servers: MendServer[] = [];
const providers: WebsocketProvider[] = [];
const sockets: SealedSocket[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const provider of providers.splice(0)) provider.destroy();
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Compaction after three updates, so the plaintext lies in a snapshot and in updates. */
const LIMITS = JSON.stringify({ compactAfterUpdates: 3, compactJitter: 0 });

/** Random per run, so nothing else can have left it anywhere. */
function newCanary(): string {
  return `canary-${randomBytes(12).toString('hex')}`;
}

interface PlaintextCouple {
  spaceId: SpaceId;
  alex: { partnerId: PartnerId; token: string };
  sam: { partnerId: PartnerId; token: string };
  /** Alex's device's copy of the document, synced with the server. */
  doc: Y.Doc;
  provider: WebsocketProvider;
}

/** A plaintext space of two, with the canary in its name, the names and two agreements. */
async function plaintextCoupleWith(canary: string, server: MendServer): Promise<PlaintextCouple> {
  const created = await createSpace(server, { displayName: `A ${canary}`, name: `Us ${canary}` });
  const joined = await joinSpace(server, created.spaceId, {
    inviteCode: created.inviteCode,
    displayName: `S ${canary}`,
  });
  const { provider, doc } = openProvider(server, created.spaceId, created.token);
  providers.push(provider);
  await waitForSynced(provider);
  const alex = created.partnerId as PartnerId;
  for (const title of [`We promise ${canary}`, `And then ${canary}`]) {
    proposeAgreement(doc, { title, body: `Said plainly: ${canary}`, by: alex, at: Date.now() });
  }
  // A fresh client gets only what is stored: once it holds both, the server has them.
  const check = openProvider(server, created.spaceId, joined.token);
  providers.push(check.provider);
  await waitForDoc(
    check.doc,
    () => check.doc.getMap('agreements').size === 2,
    'the agreements stored on the server',
  );
  check.provider.destroy();
  return {
    spaceId: created.spaceId as SpaceId,
    alex: { partnerId: alex, token: created.token },
    sam: { partnerId: joined.partnerId as PartnerId, token: joined.token },
    doc,
    provider,
  };
}

interface Conversion {
  keyring: SpaceKeyring;
  alexDevice: DeviceIdentity;
  samDevice: DeviceIdentity;
  envelopes: [Uint8Array, Uint8Array];
}

/** What Alex's device sends to seal the space: keys, a box for Sam, member and genesis. */
function conversionOf(couple: PlaintextCouple) {
  const alexDevice = newDeviceIdentity();
  const samDevice = newDeviceIdentity();
  const keyring = new SpaceKeyring(couple.spaceId);
  const spaceKey = newSpaceKey();
  keyring.add(1, spaceKey);
  const writer = new StreamWriter(randomBytes(4).readUInt32LE(0));
  const seal = (kind: EnvelopeKind, payload: Uint8Array) => {
    const sealed = sealEnvelope({
      identity: alexDevice,
      keyring,
      kind,
      ...writer.next(),
      payload,
    });
    writer.advance(sealed);
    return sealed.bytes;
  };
  const member = seal(
    EnvelopeKind.member,
    encodeMemberPayload({
      partnerId: couple.alex.partnerId,
      agreementKey: alexDevice.agreement.publicKey,
    }),
  );
  const genesis = seal(EnvelopeKind.carried, Y.encodeStateAsUpdate(couple.doc));
  const welcome = encodeWelcomePayload({
    epoch: 1,
    spaceKey,
    creatorSigningKey: alexDevice.signing.publicKey,
    creatorAgreementKey: alexDevice.agreement.publicKey,
  });
  const device = (partnerId: PartnerId, identity: DeviceIdentity) => ({
    partnerId,
    signingKey: toBase64Url(identity.signing.publicKey),
    agreementKey: toBase64Url(identity.agreement.publicKey),
  });
  const body = {
    devices: [
      device(couple.alex.partnerId, alexDevice),
      {
        ...device(couple.sam.partnerId, samDevice),
        box: toBase64Url(boxSeal(samDevice.agreement.publicKey, welcome)),
      },
    ],
    envelopes: [toBase64Url(member), toBase64Url(genesis)],
  };
  const conversion: Conversion = {
    keyring,
    alexDevice,
    samDevice,
    envelopes: [member, genesis],
  };
  return { body, conversion };
}

/**
 * Seals the space while Alex's plaintext socket is open; checks the answer, the 4410 close, and
 * that Sam's old token now opens the sealed log and the key box, which give back the document.
 */
async function sealAndCheck(server: MendServer, couple: PlaintextCouple, canary: string) {
  const { body, conversion } = conversionOf(couple);
  const closed = nextClose(couple.provider, 'Alex’s plaintext socket');
  const sealed = await postJson(server, `/sync/${couple.spaceId}/seal`, body, {
    Authorization: `Bearer ${couple.alex.token}`,
  });
  expect(sealed.status).toBe(200);
  expect(sealed.json).toEqual({ seq: 2 });
  expect(await closed).toBe(CloseCode.sealedNow);
  couple.provider.destroy();

  // Sam's device, with the token it had for the plaintext space.
  const key = await get(server, `/sync/${couple.spaceId}/key`, {
    Authorization: `Bearer ${couple.sam.token}`,
  });
  expect(key.status).toBe(200);
  const answer = key.json as SealedKeyResponse;
  expect(answer.creator.signingKey).toBe(toBase64Url(conversion.alexDevice.signing.publicKey));
  const opened = boxOpen(
    conversion.samDevice.agreement.secretKey,
    conversion.samDevice.agreement.publicKey,
    fromBase64Url(answer.box ?? ''),
  );
  expect(opened).not.toBeNull();
  const welcome = decodeWelcomePayload(opened ?? new Uint8Array());
  const samKeyring = new SpaceKeyring(couple.spaceId);
  samKeyring.add(welcome.epoch, welcome.spaceKey);

  const member = {
    spaceId: couple.spaceId,
    partnerId: couple.sam.partnerId,
    token: couple.sam.token,
    keys: {
      signingKey: conversion.samDevice.signing.publicKey,
      agreementKey: conversion.samDevice.agreement.publicKey,
    },
  };
  const raw = await openRawSocket(server, couple.spaceId, {
    token: couple.sam.token,
    protocols: ['mend-sealed-1'],
  });
  const socket = new SealedSocket(raw, new SealedStream(member));
  sockets.push(socket);
  socket.hello(0);
  const backlog = await socket.waitFor((m) => m.type === SealedMessage.backlog, 'the backlog');
  if (backlog.type !== SealedMessage.backlog) throw new Error('not a backlog');
  expect(backlog.entries.map((e) => e.seq)).toEqual([1, 2]);
  expect(backlog.entries.map((e) => e.envelope)).toEqual(conversion.envelopes);
  const genesis = openEnvelope(backlog.entries[1]?.envelope ?? new Uint8Array(), samKeyring);
  const restored = new Y.Doc();
  Y.applyUpdate(restored, genesis.payload);
  expect(Buffer.from(Y.encodeStateAsUpdate(restored)).includes(Buffer.from(canary))).toBe(true);
}

describe('converting a plaintext space on a server with SQLite', () => {
  it('leaves the canary in none of the database files, and the partner’s token opens the sealed log', async () => {
    const canary = newCanary();
    const server = await startServer({ env: { MEND_LIMITS: LIMITS } });
    servers.push(server);
    const couple = await plaintextCoupleWith(canary, server);
    const database = join(server.dataDir, 'mend.sqlite');
    // The search finds what is there: before the conversion, the plaintext is on disk.
    expect(holding(await dataFiles(server), canary)).not.toEqual([]);

    await sealAndCheck(server, couple, canary);

    const files = await dataFiles(server);
    expect(files.map((f) => f.name)).toEqual(
      expect.arrayContaining([database, `${database}-wal`, `${database}-shm`]),
    );
    expect(holding(files, couple.spaceId)).toContain(database);
    expect(holding(files, canary)).toEqual([]);
    expect(server.output.join('\n')).not.toContain(canary);
  });
});

describe.skipIf(!databaseUrl)('converting a plaintext space on a server with PostgreSQL', () => {
  it('leaves the canary in no row of any table, vacuums, and the partner’s token opens the sealed log', async () => {
    const canary = newCanary();
    const server = await startServer({ env: { DATABASE_URL: databaseUrl, MEND_LIMITS: LIMITS } });
    servers.push(server);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const couple = await plaintextCoupleWith(canary, server);
    cleanups.push(async () => {
      await db.query('DELETE FROM spaces WHERE space_id = $1', [couple.spaceId]);
      await db.end();
    });
    expect(await rowsHolding(db, canary)).not.toEqual([]);
    const before = new Date();

    await sealAndCheck(server, couple, canary);

    expect(await rowsHolding(db, canary)).toEqual([]);
    expect(await rowsHolding(db, couple.spaceId)).toEqual(
      expect.arrayContaining(['devices', 'sealed_envelopes', 'spaces']),
    );
    await vacuumedSince(db, 'doc_updates', before);
  });
});

describe.skipIf(!databaseUrl || !redisUrl)('converting a plaintext space on two nodes', () => {
  it('closes the plaintext sockets the other node holds with 4410', async () => {
    const env = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl };
    const [nodeA, nodeB] = await Promise.all([startServer({ env }), startServer({ env })]);
    servers.push(nodeA, nodeB);
    const couple = await plaintextCoupleWith(newCanary(), nodeA);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    cleanups.push(async () => {
      await db.query('DELETE FROM spaces WHERE space_id = $1', [couple.spaceId]);
      await db.end();
    });
    const onB = openProvider(nodeB, couple.spaceId, couple.sam.token);
    providers.push(onB.provider);
    await waitForSynced(onB.provider);
    const closedOnB = nextClose(onB.provider, 'Sam’s plaintext socket on the other node');

    const { body } = conversionOf(couple);
    const sealed = await postJson(nodeA, `/sync/${couple.spaceId}/seal`, body, {
      Authorization: `Bearer ${couple.alex.token}`,
    });
    expect(sealed.status).toBe(200);
    expect(await closedOnB).toBe(CloseCode.sealedNow);
  });
});

/** Waits (bounded) until PostgreSQL reports a VACUUM of `table` that started after `since`. */
async function vacuumedSince(db: pg.Client, table: string, since: Date): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const result = await db.query<{ last: Date | null }>(
      `SELECT greatest(last_vacuum, last_autovacuum) AS last FROM pg_stat_user_tables
        WHERE schemaname = 'public' AND relname = $1`,
      [table],
    );
    const last = result.rows[0]?.last ?? null;
    if (last !== null && last >= since) return;
    if (Date.now() > deadline) throw new Error(`${table} was not vacuumed after the conversion`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
