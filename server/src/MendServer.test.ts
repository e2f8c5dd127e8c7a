import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listPartners, SCHEMA_VERSION, schemaVersionOf } from '@mend/model';
import type { PartnerId, SpaceId } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import { hashSecret, newPartnerId, newToken } from './http/credentials.js';
import { createMendServer, type MendServer } from './MendServer.js';
import { MemoryAdapter } from './storage/MemoryAdapter.js';
import { storedDoc } from './sync/roomHarness.testkit.js';
import { testConfig } from './testConfig.testkit.js';

const running: MendServer[] = [];
/** Each started server's metrics listener, by its public URL. */
const metricsUrls = new Map<string, string>();

afterAll(async () => {
  await Promise.all(running.map((server) => server.stop()));
});

function opened(url: string, token: string): Promise<WebSocket> {
  const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

async function start(storage: MemoryAdapter): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mend-server-'));
  const server = await createMendServer(testConfig({ dataDir: dir, webDir: dir, metricsPort: 0 }), {
    storage,
    log: pino({ level: 'silent' }),
  });
  running.push(server);
  const { url, metricsPort } = await server.start();
  metricsUrls.set(url, `http://127.0.0.1:${metricsPort}`);
  return url;
}

interface CreatedSpace {
  spaceId: SpaceId;
  partnerId: PartnerId;
  token: string;
  inviteCode: string;
}

/** The partners in the stored document after `token`'s device has connected once. */
async function partnersAfterConnecting(
  storage: MemoryAdapter,
  url: string,
  spaceId: SpaceId,
  token: string,
) {
  const socket = await opened(`${url.replace('http', 'ws')}/sync/${spaceId}`, token);
  socket.close();
  return listPartners(await storedDoc(storage, spaceId));
}

/** Creates a space over the HTTP API, as the app's Start screen does. */
async function createSpace(url: string, displayName: string): Promise<CreatedSpace> {
  const created = await fetch(`${url}/api/spaces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ displayName }),
  });
  expect(created.status).toBe(201);
  return (await created.json()) as CreatedSpace;
}

describe('a join whose document write failed', () => {
  it('is healed when that partner connects: they are written into the space', async () => {
    const storage = new MemoryAdapter();
    const url = await start(storage);
    const { spaceId } = await createSpace(url, 'Alex');

    // What a join leaves behind when storing the partner worked but the document write did not.
    const partnerId = newPartnerId();
    const token = newToken();
    const joinedAt = Date.now();
    const added = await storage.addPartner(
      spaceId,
      { partnerId, spaceId, displayName: 'Sam', tokenHash: hashSecret(token), joinedAt },
      joinedAt,
    );
    expect(added).toBe('added');
    expect(listPartners(await storedDoc(storage, spaceId)).map((p) => p.displayName)).toEqual([
      'Alex',
    ]);

    const partners = await partnersAfterConnecting(storage, url, spaceId, token);
    expect(partners.map((p) => p.displayName).sort()).toEqual(['Alex', 'Sam']);
    expect(partners.find((p) => p.id === partnerId)?.joinedAt).toBe(joinedAt);
  });
});

describe('a join whose document write fails', () => {
  it('still answers 201 with a token, and the partner is written in when they connect', async () => {
    let failNextAppend = false;
    const storage = new (class extends MemoryAdapter {
      override async appendUpdate(spaceId: SpaceId, update: Uint8Array): Promise<number> {
        if (failNextAppend) {
          failNextAppend = false;
          throw new Error('storage unavailable');
        }
        return super.appendUpdate(spaceId, update);
      }
    })();
    const url = await start(storage);
    const { spaceId, inviteCode } = await createSpace(url, 'Alex');

    failNextAppend = true;
    const joined = await fetch(`${url}/api/spaces/${spaceId}/join`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ inviteCode, displayName: 'Sam' }),
    });
    expect(joined.status).toBe(201);
    expect(failNextAppend).toBe(false);
    const { partnerId, token } = (await joined.json()) as { partnerId: PartnerId; token: string };
    expect(token).toEqual(expect.any(String));
    expect(joined.headers.get('set-cookie')).toContain(token);
    expect(listPartners(await storedDoc(storage, spaceId)).map((p) => p.displayName)).toEqual([
      'Alex',
    ]);

    const partners = await partnersAfterConnecting(storage, url, spaceId, token);
    expect(partners.map((p) => p.displayName).sort()).toEqual(['Alex', 'Sam']);
    expect(partners.some((p) => p.id === partnerId)).toBe(true);
  });
});

describe('a document written by an earlier schema', () => {
  it('is migrated by the server before it is served to a device', async () => {
    const storage = new MemoryAdapter();
    const url = await start(storage);
    const spaceId = 'space_schema_zero_01' as SpaceId;
    const partnerId = newPartnerId();
    const token = newToken();
    const now = Date.now();
    await storage.createSpace(
      { spaceId, name: 'Old space', createdAt: now, inviteHash: hashSecret(newToken()) },
      { partnerId, spaceId, displayName: 'Alex', tokenHash: hashSecret(token), joinedAt: now },
    );
    // Schema 0 (pre-release): no schemaVersion, partners as plain objects.
    const old = new Y.Doc();
    old.getMap('space').set('name', 'Old space');
    old.getMap('space').set('createdAt', now);
    old.getMap('partners').set(partnerId, { displayName: 'Alex', joinedAt: now, color: '#6b5ca5' });
    await storage.appendUpdate(spaceId, Y.encodeStateAsUpdate(old));
    expect(schemaVersionOf(await storedDoc(storage, spaceId))).toBe(0);

    const socket = await opened(`${url.replace('http', 'ws')}/sync/${spaceId}`, token);
    socket.close();
    const stored = await storedDoc(storage, spaceId);
    expect(schemaVersionOf(stored)).toBe(SCHEMA_VERSION);
    expect(listPartners(stored).map((p) => p.displayName)).toEqual(['Alex']);
  });
});

describe('a document the server has checked', () => {
  it('is served from its stored bytes after a restart, without being rebuilt to check it again', async () => {
    const storage = new MemoryAdapter();
    const first = await start(storage);
    const { spaceId, partnerId, token } = await createSpace(first, 'Alex');
    (await opened(`${first.replace('http', 'ws')}/sync/${spaceId}`, token)).close();
    await expect.poll(() => storage.getDocCheck(spaceId, partnerId)).toBe(SCHEMA_VERSION);

    const second = await start(storage);
    const socket = await opened(`${second.replace('http', 'ws')}/sync/${spaceId}`, token);
    const reply = new Promise<Uint8Array>((resolve) =>
      socket.on('message', (data: Buffer) => {
        // sync (0), step 2 (1): the answer to our step 1.
        if (data[0] === 0 && data[1] === 1) resolve(new Uint8Array(data));
      }),
    );
    socket.send(new Uint8Array([0, 0, 1, 0])); // sync step 1 with an empty state vector
    const answer = await reply;
    socket.close();
    const doc = new Y.Doc();
    const decoder = decoding.createDecoder(answer.subarray(2));
    Y.applyUpdate(doc, decoding.readVarUint8Array(decoder));
    expect(listPartners(doc).map((p) => p.displayName)).toEqual(['Alex']);
    const metrics = await (await fetch(`${metricsUrls.get(second)}/metrics`)).text();
    expect(metrics).toMatch(/^mend_room_wakes_total 0$/m);
  });
});
