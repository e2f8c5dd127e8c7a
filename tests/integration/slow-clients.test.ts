import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createCouple, get, waitForGauge } from '../support/api.js';
import { openRawSocket, rawSync, UpgradeRefused, type RawSocket } from '../support/clients.js';
import { startServer, withTimeout, type MendServer } from '../support/server.js';

const servers: MendServer[] = [];
const clients: Socket[] = [];

async function start(limits: Record<string, number>): Promise<MendServer> {
  const server = await startServer({ env: { MEND_LIMITS: JSON.stringify(limits) } });
  servers.push(server);
  return server;
}

afterAll(async () => {
  for (const client of clients) client.destroy();
  await Promise.all(servers.map((server) => server.dispose()));
});

/** A plain TCP connection that records what the server sent, and when it hung up. */
interface Connection {
  readonly socket: Socket;
  received(): string;
  readonly closed: Promise<void>;
  /** Resolves once the received text matches. */
  waitFor(pattern: RegExp, what: string): Promise<void>;
}

async function connectTo(server: MendServer): Promise<Connection> {
  const socket = connect(server.port, '127.0.0.1');
  clients.push(socket);
  let text = '';
  const waiters = new Set<() => void>();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
    for (const wake of waiters) wake();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    received: () => text,
    closed,
    waitFor: (pattern, what) =>
      withTimeout(
        new Promise<void>((resolve, reject) => {
          const wake = (): void => {
            if (pattern.test(text)) resolve();
          };
          waiters.add(wake);
          void closed.then(() => {
            if (!pattern.test(text)) reject(new Error(`closed before ${what}: ${text}`));
          });
          wake();
        }),
        10_000,
        `waiting for ${what}`,
      ),
  };
}

/** Writes `text` one byte a second until the connection closes; returns a stop function. */
function trickle(connection: Connection, text: string): () => void {
  let at = 0;
  const timer = setInterval(() => {
    if (connection.socket.destroyed || at >= text.length) return clearInterval(timer);
    connection.socket.write(text[at++] ?? '');
  }, 1_000);
  void connection.closed.then(() => clearInterval(timer));
  return () => clearInterval(timer);
}

const ENDLESS_HEADERS = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(600)}`;

describe('a client that sends its headers one byte a second', () => {
  it('is cut off with 408 after the headers timeout, while the server keeps answering others', async () => {
    const server = await start({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
    const slow = await connectTo(server);
    const stop = trickle(slow, ENDLESS_HEADERS);
    try {
      for (let i = 0; i < 3; i++) expect((await get(server, '/healthz')).status).toBe(200);
      await withTimeout(slow.closed, 10_000, 'the slow client was never cut off');
      expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect((await get(server, '/healthz')).status).toBe(200);
    } finally {
      stop();
    }
  });
});

describe('the request timeouts', () => {
  it('do not cut off a sync socket that stays open longer than them', async () => {
    const server = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600, heartbeatMs: 200 });
    const couple = await createCouple(server);
    const socket = await openRawSocket(server, couple.spaceId, { token: couple.a.token });
    // Heartbeat pings mark the time without a timer here: ten of them span several timeouts.
    await withTimeout(
      new Promise<void>((resolve) => {
        let pings = 0;
        socket.ws.on('ping', () => {
          if (++pings === 10) resolve();
        });
      }),
      10_000,
      'waiting for ten heartbeat pings',
    );
    expect(socket.isOpen).toBe(true);
    await rawSync(socket);
    socket.close();
  });
});

describe('a JSON body trickled slower than the body deadline', () => {
  it('gets 408 with a calm message, and the connection is closed', async () => {
    const server = await start({ bodyTimeoutMs: 1_000 });
    const slow = await connectTo(server);
    slow.socket.write(
      'POST /api/spaces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Content-Length: 200\r\n\r\n',
    );
    const stop = trickle(slow, `{"displayName":"${'a'.repeat(180)}"}`);
    try {
      await slow.waitFor(/\r\n\r\n\{.*\}/s, 'an answer');
      expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(slow.received()).toMatch(/\r\nconnection: close\r\n/i);
      const body = JSON.parse(slow.received().split('\r\n\r\n')[1] ?? '') as { error: string };
      expect(body.error).toMatch(/took too long/);
      await withTimeout(slow.closed, 10_000, 'the connection stayed open after the 408');
      expect((await get(server, '/healthz')).status).toBe(200);
    } finally {
      stop();
    }
  });
});

describe('open connections', () => {
  it('are capped at maxConnections: one more is closed unanswered, and the cap frees up again', async () => {
    const server = await start({ maxConnections: 2 });
    const held = [await connectTo(server), await connectTo(server)];
    for (const connection of held) {
      // A keep-alive request proves the server accepted the connection and still holds it.
      connection.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await connection.waitFor(/\{"ok":true\}/, 'the health answer');
    }
    const extra = await connectTo(server);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await withTimeout(extra.closed, 10_000, 'the connection over the cap stayed open');
    expect(extra.received()).toBe('');

    held[0]?.socket.end();
    await held[0]?.closed;
    // The server notices the freed slot on its own schedule: a bounded number of fresh tries.
    let answered = false;
    for (let attempt = 0; attempt < 50 && !answered; attempt++) {
      const next = await connectTo(server);
      next.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      await next.closed;
      answered = next.received().startsWith('HTTP/1.1 200');
    }
    expect(answered).toBe(true);
  });
});

describe('sync sockets per address', () => {
  it('are capped at socketsPerAddress: one more upgrade is refused with 429 until one closes', async () => {
    const server = await start({ socketsPerAddress: 2 });
    const couple = await createCouple(server);
    const open: RawSocket[] = [
      await openRawSocket(server, couple.spaceId, { token: couple.a.token }),
      await openRawSocket(server, couple.spaceId, { token: couple.b.token }),
    ];
    const refusal = await openRawSocket(server, couple.spaceId, { token: couple.a.token }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(UpgradeRefused);
    expect((refusal as UpgradeRefused).status).toBe(429);
    expect((JSON.parse((refusal as UpgradeRefused).body) as { error: string }).error).toMatch(
      /^Too many Mend connections/,
    );

    open[0]?.close();
    await open[0]?.waitForClose();
    await waitForGauge(server, 'mend_open_sockets', 1);
    const again = await openRawSocket(server, couple.spaceId, { token: couple.a.token });
    expect(again.isOpen).toBe(true);
    again.close();
    open[1]?.close();
  });
});
