import type { SpaceId } from '@mend/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { droppedSpacesLimit, unsentLimit, type RedisPubSub } from './RedisPubSub.js';
import { BusKind, SpaceBus, type BusMessage } from './SpaceBus.js';
import { definePubSubContract, inbox, newSpaceId } from './pubsubContract.testkit.js';
import { oneCutOff, openNode, type TwoNodes } from './redisNodes.testkit.js';

const url = process.env.REDIS_URL;
if (!url) console.log('RedisPubSub tests skipped: set REDIS_URL=redis://… to run them');

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

    async function twoNodes(options: { unsentLimit?: number } = {}): Promise<TwoNodes> {
      const nodes = await oneCutOff(url ?? '', options);
      cleanup.push(nodes.close);
      return nodes;
    }

    /** A has lost Redis (logged); B, never cut off, listens to `space`. */
    async function aCutOffWhileBListens(unsentLimit?: number) {
      const nodes = await twoNodes(unsentLimit === undefined ? {} : { unsentLimit });
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

    it('once the rest is sent, the spaces whose messages were dropped are told, and only those', async () => {
      const { a, link, logA, space, heard } = await aCutOffWhileBListens(100);
      const other = newSpaceId();
      const dropped = new Promise<readonly SpaceId[]>((resolve) => a.onDropped(resolve));
      await a.publish(space, new Uint8Array(40).fill(1));
      await a.publish(other, new Uint8Array(40).fill(2));
      await a.publish(other, new Uint8Array(40).fill(3));
      await a.publish(space, new Uint8Array(20).fill(4));
      link.restore();
      expect(await dropped).toEqual([space]);
      // What was not dropped still arrives, in order.
      expect((await heard.next())[0]).toBe(4);
      expect(logA.lines.some((l) => /backlog full/.test(l.msg))).toBe(true);
    });

    it('a space bus asks the other nodes to catch up a space whose messages it dropped', async () => {
      const { a, b, link } = await aCutOffWhileBListens(100);
      const space = newSpaceId();
      const heard: BusMessage[] = [];
      let caughtUp = (): void => {};
      const told = new Promise<void>((resolve) => (caughtUp = resolve));
      await new SpaceBus(b).subscribe(space, {
        onBusMessage: (message) => {
          heard.push(message);
          if (message.kind === BusKind.catchUp) caughtUp();
        },
        onUndecodable: () => {},
      });
      const busA = new SpaceBus(a);
      await busA.publish(space, BusKind.sealedEnvelope, new Uint8Array(40));
      await a.publish(newSpaceId(), new Uint8Array(100));
      link.restore();
      await told;
      expect(heard).toEqual([{ kind: BusKind.catchUp, payload: new Uint8Array(0) }]);
    });

    it('past the spaces it can name, a node that dropped messages asks every other node to resync all its rooms', async () => {
      const { a, b, link } = await aCutOffWhileBListens(1);
      let told = false;
      a.onDropped(() => (told = true));
      const resynced = new Promise<void>((resolve) => b.onRecovered(resolve));
      // One byte each: every publish but the last drops the one before it.
      for (let i = 0; i < droppedSpacesLimit + 2; i++)
        await a.publish(newSpaceId(), new Uint8Array(1));
      link.restore();
      await resynced;
      expect(told).toBe(false);
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
