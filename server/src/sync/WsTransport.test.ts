import { CloseCode } from '@mend/protocol';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createMendServer, type MendServer } from '../MendServer.js';
import { defaultLimits } from '../config.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import { testConfig } from '../testConfig.testkit.js';

const MAX = 4096;
let server: MendServer;
let url: string;
let space: { spaceId: string; token: string };

beforeAll(async () => {
  server = await createMendServer(testConfig({ maxMessageBytes: MAX }), {
    storage: new MemoryAdapter(),
    log: pino({ level: 'silent' }),
  });
  ({ url } = await server.start());
  const response = await fetch(`${url}/api/spaces`, {
    method: 'POST',
    body: JSON.stringify({ displayName: 'Robin' }),
  });
  space = (await response.json()) as typeof space;
});

afterAll(async () => {
  await server.stop();
});

/** Opens an authenticated socket and resolves once the server's first message arrived. */
async function open(): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/sync/${space.spaceId}`, {
    headers: { Authorization: `Bearer ${space.token}` },
  });
  await new Promise((resolve, reject) => {
    ws.once('message', resolve);
    ws.once('error', reject);
  });
  return ws;
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

describe('socket transport', () => {
  it('closes a text frame with 1003', async () => {
    const ws = await open();
    const closed = closeCode(ws);
    ws.send('hello');
    expect(await closed).toBe(CloseCode.unsupportedData);
  });

  it('closes a message over the size limit with 1009, fragmented or not', async () => {
    const whole = await open();
    const wholeClosed = closeCode(whole);
    whole.send(new Uint8Array(MAX + 1));
    expect(await wholeClosed).toBe(CloseCode.messageTooBig);

    const fragmented = await open();
    const fragmentedClosed = closeCode(fragmented);
    const part = new Uint8Array(MAX / 2);
    fragmented.send(part, { fin: false });
    fragmented.send(part, { fin: false });
    fragmented.send(part, { fin: true });
    expect(await fragmentedClosed).toBe(CloseCode.messageTooBig);
  });

  it('keeps serving other sockets after one was closed for bad input', async () => {
    const bad = await open();
    const badClosed = closeCode(bad);
    bad.send(new Uint8Array([0, 2, 0xff]));
    expect(await badClosed).toBe(CloseCode.badMessage);
    const good = await open();
    expect(good.readyState).toBe(WebSocket.OPEN);
    good.close();
  });

  it('refuses an upgrade without a token with 401 before any WebSocket byte', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/sync/${space.spaceId}`);
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => {});
    });
    expect(status).toBe(401);
  });

  it('ends a socket that stopped answering pings', async () => {
    const quick = await createMendServer(
      testConfig({ limits: { ...defaultLimits, heartbeatMs: 50 } }),
      { storage: new MemoryAdapter(), log: pino({ level: 'silent' }) },
    );
    const started = await quick.start();
    const created = (await (
      await fetch(`${started.url}/api/spaces`, {
        method: 'POST',
        body: JSON.stringify({ displayName: 'Robin' }),
      })
    ).json()) as typeof space;
    const silent = new WebSocket(`${started.url.replace('http', 'ws')}/sync/${created.spaceId}`, {
      headers: { Authorization: `Bearer ${created.token}` },
      autoPong: false,
    });
    const closed = closeCode(silent);
    await new Promise((resolve) => silent.once('message', resolve));
    expect(await closed).toBe(1006);
    await quick.stop();
  });

  it('closes sockets with 1001 on shutdown', async () => {
    const other = await createMendServer(testConfig({ maxMessageBytes: MAX }), {
      storage: new MemoryAdapter(),
      log: pino({ level: 'silent' }),
    });
    const started = await other.start();
    const created = (await (
      await fetch(`${started.url}/api/spaces`, {
        method: 'POST',
        body: JSON.stringify({ displayName: 'Robin' }),
      })
    ).json()) as typeof space;
    const ws = new WebSocket(`${started.url.replace('http', 'ws')}/sync/${created.spaceId}`, {
      headers: { Authorization: `Bearer ${created.token}` },
    });
    await new Promise((resolve) => ws.once('message', resolve));
    const closed = closeCode(ws);
    await other.stop();
    expect(await closed).toBe(CloseCode.goingAway);
  });
});
