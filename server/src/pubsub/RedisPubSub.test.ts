import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PubSub } from './PubSub.js';
import { RedisPubSub, unsentLimit } from './RedisPubSub.js';
import { BusKind, SpaceBus } from './SpaceBus.js';
import { definePubSubContract, inbox, newSpaceId } from './pubsubContract.testkit.js';

const url = process.env.REDIS_URL;
if (!url) console.log('RedisPubSub tests skipped: set REDIS_URL=redis://… to run them');

/** A channel prefix of its own per run, so parallel runs never hear each other. */
const channelPrefix = `mend-test-${process.pid}-${randomBytes(4).toString('hex')}:space:`;

describe.skipIf(!url)('Redis pub/sub', () => {
  definePubSubContract('Redis', async () => {
    const nodes: RedisPubSub[] = [];
    return {
      node: async () => {
        const node = await openNode(url ?? '');
        nodes.push(node.pubsub);
        return node.pubsub;
      },
      close: async () => {
        await Promise.all(nodes.map((n) => n.close()));
      },
    };
  });

  it('a space bus over Redis publishes even when no other subscriber is counted here: other processes may listen', async () => {
    const a = await openNode(url ?? '');
    const b = await openNode(url ?? '');
    try {
      const spaceId = newSpaceId();
      const bus = new SpaceBus(a.pubsub);
      await bus.subscribe(spaceId, { onBusMessage: () => {}, onUndecodable: () => {} });
      expect(bus.othersListening(spaceId)).toBe(true);
      // Node b subscribes to the raw channel, as another process's bus would.
      const heard = inbox();
      await b.pubsub.subscribe(spaceId, heard.add);
      await bus.publish(spaceId, BusKind.sealedEnvelope, new Uint8Array([7]));
      expect((await heard.next()).length).toBeGreaterThan(0);
    } finally {
      await Promise.all([a.pubsub.close(), b.pubsub.close()]);
    }
  });

  describe('when Redis goes away and comes back', () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    /** Node A reaches Redis through a cuttable TCP relay (a real outage for A); B directly. */
    async function twoNodes(): Promise<{
      a: PubSub;
      b: PubSub;
      link: Relay;
      logA: LogLines;
    }> {
      const target = new URL(url ?? '');
      const link = await relay(Number(target.port || 6379), target.hostname);
      cleanup.push(() => link.close());
      const viaLink = new URL(url ?? '');
      viaLink.hostname = '127.0.0.1';
      viaLink.port = String(link.port);
      const a = await openNode(viaLink.toString());
      const b = await openNode(url ?? '');
      cleanup.push(
        () => a.pubsub.close(),
        () => b.pubsub.close(),
      );
      return { a: a.pubsub, b: b.pubsub, link, logA: a.log };
    }

    /** A has lost Redis (logged); B, never cut off, listens to `space`. */
    async function aCutOffWhileBListens() {
      const nodes = await twoNodes();
      const space = newSpaceId();
      const heard = inbox();
      await nodes.b.subscribe(space, heard.add);
      const lost = nodes.logA.waitFor('error', /redis unreachable/);
      await nodes.link.cut();
      await lost;
      return { ...nodes, space, heard };
    }

    it('publishing while Redis is unreachable resolves, and the outage is logged once', async () => {
      const { a, link, logA } = await twoNodes();
      const lost = logA.waitFor('error', /redis unreachable/);
      await link.cut();
      await lost;
      await expect(a.publish(newSpaceId(), new Uint8Array([1]))).resolves.toBeUndefined();
      await expect(a.publish(newSpaceId(), new Uint8Array([2]))).resolves.toBeUndefined();
      expect(
        logA.lines.filter((l) => l.level === 'error' && /redis unreachable/.test(l.msg)),
      ).toHaveLength(1);
      expect(logA.lines.filter((l) => /redis publish failed/.test(l.msg))).toHaveLength(1);
    });

    it('what a node publishes while it cannot reach Redis reaches the other nodes, in order, once it can', async () => {
      // B never lost Redis, so it has no outage to resync after: without these messages it
      // would never learn of the edits A stored meanwhile.
      const { a, link, space, heard } = await aCutOffWhileBListens();
      for (const n of [1, 2, 3]) await a.publish(space, new Uint8Array([n]));
      link.restore();
      for (const n of [1, 2, 3]) expect(await heard.next()).toEqual(new Uint8Array([n]));
      await a.publish(space, new Uint8Array([4]));
      expect(await heard.next()).toEqual(new Uint8Array([4]));
    });

    it('beyond the limit, the oldest unsent messages are dropped and it is said once', async () => {
      const { a, link, logA, space, heard } = await aCutOffWhileBListens();
      const quarter = unsentLimit / 4;
      for (const n of [1, 2, 3, 4, 5, 6]) {
        await a.publish(space, new Uint8Array(quarter).fill(n));
      }
      expect(logA.lines.filter((l) => /backlog full/.test(l.msg))).toHaveLength(1);
      link.restore();
      for (const n of [3, 4, 5, 6]) expect((await heard.next())[0]).toBe(n);
    });

    it('when Redis is back, subscriptions are restored, then the recovery listeners run', async () => {
      const { a, b, link, logA } = await twoNodes();
      const space = newSpaceId();
      const heard = inbox();
      await a.subscribe(space, heard.add);
      let recoveries = 0;
      const recovered = new Promise<void>((resolve) =>
        a.onRecovered(() => {
          recoveries++;
          resolve();
        }),
      );

      const lost = logA.waitFor('error', /redis unreachable/);
      await link.cut();
      await lost;
      await b.publish(space, new Uint8Array([1])); // missed by A: the room resyncs from storage
      link.restore();
      await recovered;

      await b.publish(space, new Uint8Array([2]));
      expect(await heard.next()).toEqual(new Uint8Array([2]));
      expect(recoveries).toBe(1);
      expect(logA.lines.some((l) => l.level === 'info' && /redis is back/.test(l.msg))).toBe(true);
    });

    it('a room loaded during the outage is subscribed, and resynced, once Redis is back', async () => {
      const { a, b, link, logA } = await twoNodes();
      const lost = logA.waitFor('error', /redis unreachable/);
      await link.cut();
      await lost;
      const space = newSpaceId();
      const heard = inbox();
      // Resolves at once: the room keeps serving its local sockets meanwhile.
      await a.subscribe(space, heard.add);
      const recovered = new Promise<void>((resolve) => a.onRecovered(resolve));
      link.restore();
      await recovered;
      await b.publish(space, new Uint8Array([3]));
      expect(await heard.next()).toEqual(new Uint8Array([3]));
    });

    it('a removed recovery listener is not called, and one that throws does not stop the others', async () => {
      const { a, link, logA } = await twoNodes();
      let removedCalls = 0;
      const remove = a.onRecovered(() => removedCalls++);
      remove();
      a.onRecovered(() => {
        throw new Error('a room failed to resync');
      });
      const recovered = new Promise<void>((resolve) => a.onRecovered(resolve));
      const lost = logA.waitFor('error', /redis unreachable/);
      await link.cut();
      await lost;
      link.restore();
      await recovered;
      expect(removedCalls).toBe(0);
      expect(logA.lines.some((l) => /recovery listener threw/.test(l.msg))).toBe(true);
    });
  });
});

interface LogLine {
  level: 'info' | 'warn' | 'error';
  msg: string;
}

interface LogLines {
  lines: LogLine[];
  waitFor: (level: LogLine['level'], pattern: RegExp) => Promise<void>;
}

/** A RedisPubSub whose log lines the test reads (the logger is the only stand-in here). */
async function openNode(redisUrl: string): Promise<{ pubsub: RedisPubSub; log: LogLines }> {
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
  const pubsub = new RedisPubSub({ url: redisUrl, channelPrefix, log });
  await pubsub.connected();
  const waitFor = (level: LogLine['level'], pattern: RegExp): Promise<void> =>
    lines.some((l) => l.level === level && pattern.test(l.msg))
      ? Promise.resolve()
      : new Promise((resolve) => waiters.push({ level, pattern, resolve }));
  return { pubsub, log: { lines, waitFor } };
}

interface Relay {
  port: number;
  /** Refuses new connections and drops every open one, as a Redis that went away would. */
  cut: () => Promise<void>;
  /** Accepts connections again on the same port. */
  restore: () => void;
  close: () => Promise<void>;
}

async function relay(targetPort: number, targetHost: string): Promise<Relay> {
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
