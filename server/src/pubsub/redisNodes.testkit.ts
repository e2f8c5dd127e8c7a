import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { RedisPubSub } from './RedisPubSub.js';

/**
 * Redis pub/sub nodes for tests against the real service: each reads its own log lines, and a
 * relay in front of Redis gives one node an outage of its own while the others stay connected.
 */

/** A channel prefix of its own per run, so parallel runs never hear each other. */
const channelPrefix = `mend-test-${process.pid}-${randomBytes(4).toString('hex')}:space:`;

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  msg: string;
}

export interface LogLines {
  lines: LogLine[];
  waitFor: (level: LogLine['level'], pattern: RegExp) => Promise<void>;
}

/** A RedisPubSub whose log lines the test reads (the logger is the only stand-in here). */
export async function openNode(
  redisUrl: string,
  options: { unsentLimit?: number } = {},
): Promise<{ pubsub: RedisPubSub; log: LogLines }> {
  const lines: LogLine[] = [];
  const waiters: { level: LogLine['level']; pattern: RegExp; resolve: () => void }[] = [];
  const record =
    (level: LogLine['level']) =>
    (first: unknown, second?: unknown): void => {
      const msg = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
      lines.push({ level, msg });
      for (const w of waiters.splice(0)) {
        if (w.level === level && w.pattern.test(msg)) w.resolve();
        else waiters.push(w);
      }
    };
  const log = { info: record('info'), warn: record('warn'), error: record('error') };
  const pubsub = new RedisPubSub({ url: redisUrl, channelPrefix, log, ...options });
  await pubsub.connected();
  const waitFor = (level: LogLine['level'], pattern: RegExp): Promise<void> =>
    lines.some((l) => l.level === level && pattern.test(l.msg))
      ? Promise.resolve()
      : new Promise((resolve) => waiters.push({ level, pattern, resolve }));
  return { pubsub, log: { lines, waitFor } };
}

export interface TwoNodes {
  /** Reaches Redis through `link`, so that it can lose Redis on its own. */
  a: RedisPubSub;
  b: RedisPubSub;
  link: Relay;
  logA: LogLines;
  close: () => Promise<void>;
}

/** Node A reaches Redis through a cuttable TCP relay (a real outage for A); B directly. */
export async function oneCutOff(
  redisUrl: string,
  optionsA: { unsentLimit?: number } = {},
): Promise<TwoNodes> {
  const target = new URL(redisUrl);
  const link = await relay(Number(target.port || 6379), target.hostname);
  const viaLink = new URL(redisUrl);
  viaLink.hostname = '127.0.0.1';
  viaLink.port = String(link.port);
  const a = await openNode(viaLink.toString(), optionsA);
  const b = await openNode(redisUrl);
  const close = async (): Promise<void> => {
    await Promise.all([a.pubsub.close(), b.pubsub.close()]);
    await link.close();
  };
  return { a: a.pubsub, b: b.pubsub, link, logA: a.log, close };
}

export interface Relay {
  port: number;
  /** Refuses new connections and drops every open one, as a Redis that went away would. */
  cut: () => Promise<void>;
  /** Accepts connections again on the same port. */
  restore: () => void;
  close: () => Promise<void>;
}

export async function relay(targetPort: number, targetHost: string): Promise<Relay> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    open.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('relay has no port');
  const port = address.port;
  let listening = true;
  const stop = async (): Promise<void> => {
    if (listening) {
      listening = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      open.clear();
      await closed;
    }
  };
  return {
    port,
    cut: stop,
    restore: () => {
      listening = true;
      server.listen(port, '127.0.0.1');
    },
    close: stop,
  };
}
