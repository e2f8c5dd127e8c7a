import type { SpaceId } from '@mend/protocol';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PubSub } from './PubSub.js';

/**
 * Several nodes sharing one broker. For Redis, each node is its own connection pair; for the
 * in-memory adapter, nodes share one in-process bus (or are one instance: a single process is
 * the only node it serves).
 */
export interface PubSubCluster {
  /** A node connected to the same broker as every other node of this cluster. */
  node(): Promise<PubSub>;
  /** Closes every node this cluster opened and whatever its broker needs. */
  close(): Promise<void>;
}

/**
 * The pub/sub contract: every adapter (memory, Redis) runs this same suite.
 *
 *   definePubSubContract('memory', async () => memoryCluster());
 *
 * `openCluster` runs before every test, and the cluster is closed after it. Tests use fresh
 * random space ids, so a shared broker between tests (and test runs) is fine.
 */
export function definePubSubContract(
  name: string,
  openCluster: () => Promise<PubSubCluster>,
): void {
  describe(`pub/sub contract: ${name}`, () => {
    let cluster: PubSubCluster;

    beforeEach(async () => {
      cluster = await openCluster();
    });

    afterEach(async () => {
      await cluster.close();
    });

    it('a message published on one node reaches a subscriber of that space on another, byte for byte', async () => {
      const [a, b] = [await cluster.node(), await cluster.node()];
      const space = newSpaceId();
      const heard = inbox();
      await b.subscribe(space, heard.add);
      const message = new Uint8Array([0, 1, 0, 255, 0]);
      await a.publish(space, message);
      expect(await heard.next()).toEqual(message);
    });

    it('the publishing node hears its own message too (echoes are dropped above the adapter)', async () => {
      const a = await cluster.node();
      const space = newSpaceId();
      const heard = inbox();
      await a.subscribe(space, heard.add);
      await a.publish(space, bytes(7));
      expect(await heard.next()).toEqual(bytes(7));
    });

    it('a message of a 4 MB offline difference arrives whole', async () => {
      const [a, b] = [await cluster.node(), await cluster.node()];
      const space = newSpaceId();
      const heard = inbox();
      await b.subscribe(space, heard.add);
      const large = new Uint8Array(randomBytes(4 * 1024 * 1024));
      await a.publish(space, large);
      const received = await heard.next();
      expect(received).toBeInstanceOf(Uint8Array);
      // Buffer.equals rather than toEqual: a deep diff of megabytes takes seconds.
      expect(Buffer.from(received).equals(large)).toBe(true);
    });

    it('messages from one node arrive in the order they were published', async () => {
      const [a, b] = [await cluster.node(), await cluster.node()];
      const space = newSpaceId();
      const heard = inbox();
      await b.subscribe(space, heard.add);
      await Promise.all(Array.from({ length: 50 }, (_, i) => a.publish(space, bytes(i))));
      const received = await heard.take(50);
      expect(received.map((m) => m[0])).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });

    it('a subscriber hears only its own space', async () => {
      const [a, b] = [await cluster.node(), await cluster.node()];
      const [mine, other] = [newSpaceId(), newSpaceId()];
      const heard = inbox();
      await b.subscribe(mine, heard.add);
      await a.publish(other, bytes(1));
      await a.publish(mine, bytes(2));
      // Per-publisher order: had the other space's message been delivered, it would be first.
      expect(await heard.next()).toEqual(bytes(2));
      expect(heard.received).toHaveLength(1);
    });

    it('every subscriber of a space on a node hears each message; unsubscribing one leaves the others', async () => {
      const [a, b] = [await cluster.node(), await cluster.node()];
      const space = newSpaceId();
      const [first, second] = [inbox(), inbox()];
      const unsubscribeFirst = await b.subscribe(space, first.add);
      await b.subscribe(space, second.add);
      await a.publish(space, bytes(1));
      expect(await first.next()).toEqual(bytes(1));
      expect(await second.next()).toEqual(bytes(1));

      await unsubscribeFirst();
      await a.publish(space, bytes(2));
      expect(await second.next()).toEqual(bytes(2));
      expect(first.received).toEqual([bytes(1)]);
    });

    it('after unsubscribing, a node hears nothing more of that space', async () => {
      const [a, b] = [await cluster.node(), await cluster.node()];
      const [left, stayed] = [newSpaceId(), newSpaceId()];
      const [leftInbox, stayedInbox] = [inbox(), inbox()];
      const unsubscribe = await b.subscribe(left, leftInbox.add);
      await b.subscribe(stayed, stayedInbox.add);
      await unsubscribe();
      await a.publish(left, bytes(1));
      await a.publish(stayed, bytes(2));
      expect(await stayedInbox.next()).toEqual(bytes(2));
      expect(leftInbox.received).toEqual([]);
    });

    it('subscribing again after unsubscribing hears new messages', async () => {
      const [a, b] = [await cluster.node(), await cluster.node()];
      const space = newSpaceId();
      const unsubscribe = await b.subscribe(space, () => {});
      await unsubscribe();
      const heard = inbox();
      await b.subscribe(space, heard.add);
      await a.publish(space, bytes(3));
      expect(await heard.next()).toEqual(bytes(3));
    });

    it('a second subscriber joining while the first subscription is being made is live once subscribed', async () => {
      const [a, b] = [await cluster.node(), await cluster.node()];
      const space = newSpaceId();
      const [first, second] = [inbox(), inbox()];
      await Promise.all([b.subscribe(space, first.add), b.subscribe(space, second.add)]);
      await a.publish(space, bytes(4));
      expect(await second.next()).toEqual(bytes(4));
      expect(await first.next()).toEqual(bytes(4));
    });

    it('a subscriber that throws stops neither the other subscribers nor later messages', async () => {
      const [a, b] = [await cluster.node(), await cluster.node()];
      const space = newSpaceId();
      const heard = inbox();
      await b.subscribe(space, () => {
        throw new Error('a room failed to handle a message');
      });
      await b.subscribe(space, heard.add);
      await a.publish(space, bytes(1));
      await a.publish(space, bytes(2));
      expect(await heard.take(2)).toEqual([bytes(1), bytes(2)]);
    });

    it('a recovery listener can be removed', async () => {
      const a = await cluster.node();
      const remove = a.onRecovered(() => {});
      expect(remove).toBeTypeOf('function');
      expect(() => remove()).not.toThrow();
    });

    it('a closed node leaves the other nodes working', async () => {
      const [a, b, c] = [await cluster.node(), await cluster.node(), await cluster.node()];
      const space = newSpaceId();
      const heard = inbox();
      await b.subscribe(space, () => {});
      await c.subscribe(space, heard.add);
      await b.close();
      await a.publish(space, bytes(5));
      expect(await heard.next()).toEqual(bytes(5));
    });
  });
}

export function newSpaceId(): SpaceId {
  return randomBytes(16).toString('base64url') as SpaceId;
}

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

/** Collects a subscriber's messages; waits for them by event, never by timer. */
export function inbox(): {
  add: (message: Uint8Array) => void;
  received: Uint8Array[];
  next: () => Promise<Uint8Array>;
  take: (count: number) => Promise<Uint8Array[]>;
} {
  const received: Uint8Array[] = [];
  let read = 0;
  let waiter: (() => void) | undefined;
  const add = (message: Uint8Array): void => {
    received.push(message);
    waiter?.();
  };
  const take = async (count: number): Promise<Uint8Array[]> => {
    while (received.length < read + count) {
      await new Promise<void>((resolve) => (waiter = resolve));
    }
    const taken = received.slice(read, read + count);
    read += count;
    return taken;
  };
  const next = async (): Promise<Uint8Array> => {
    const [message] = await take(1);
    if (!message) throw new Error('no message');
    return message;
  };
  return { add, received, next, take };
}
