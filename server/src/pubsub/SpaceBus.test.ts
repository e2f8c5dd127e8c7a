import type { SpaceId } from '@mend/protocol';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { MemoryPubSub, MemoryPubSubHub } from './MemoryPubSub.js';
import type { PubSub } from './PubSub.js';
import { BusKind, SpaceBus, type BusMessage } from './SpaceBus.js';

const spaceId = 'space_0123456789abcdef' as SpaceId;
const payload = new Uint8Array([1, 2, 3]);

/** A pub/sub that counts what is handed to it. */
function counted(pubsub: PubSub): { pubsub: PubSub; published: () => number } {
  let published = 0;
  const publish = pubsub.publish.bind(pubsub);
  pubsub.publish = (id, message) => {
    published++;
    return publish(id, message);
  };
  return { pubsub, published: () => published };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('the space bus', () => {
  it('publishes nothing in one process when only its own subscription listens', async () => {
    const { pubsub, published } = counted(new MemoryPubSub());
    const bus = new SpaceBus(pubsub);
    await bus.subscribe(spaceId, { onBusMessage: () => {}, onUndecodable: () => {} });
    expect(bus.othersListening(spaceId)).toBe(false);
    await bus.publish(spaceId, BusKind.sealedEnvelope, payload);
    expect(published()).toBe(0);
  });

  it('publishes once another node in the process subscribes, and stops once it leaves', async () => {
    const hub = new MemoryPubSubHub();
    const { pubsub, published } = counted(new MemoryPubSub(hub));
    const bus = new SpaceBus(pubsub);
    await bus.subscribe(spaceId, { onBusMessage: () => {}, onUndecodable: () => {} });
    const other = new SpaceBus(new MemoryPubSub(hub));
    const heard: BusMessage[] = [];
    const unsubscribe = await other.subscribe(spaceId, {
      onBusMessage: (m) => heard.push(m),
      onUndecodable: () => {},
    });
    expect(bus.othersListening(spaceId)).toBe(true);
    await bus.publish(spaceId, BusKind.sealedEnvelope, payload);
    await tick();
    expect(published()).toBe(1);
    expect(heard).toEqual([{ kind: BusKind.sealedEnvelope, payload }]);
    await unsubscribe();
    expect(bus.othersListening(spaceId)).toBe(false);
    await bus.publish(spaceId, BusKind.sealedEnvelope, payload);
    expect(published()).toBe(1);
  });

  it('drops a message of a kind this process does not know as undecodable (a newer process sent it)', async () => {
    const hub = new MemoryPubSubHub();
    const heard: BusMessage[] = [];
    const undecodable: unknown[] = [];
    await new SpaceBus(new MemoryPubSub(hub)).subscribe(spaceId, {
      onBusMessage: (m) => heard.push(m),
      onUndecodable: (error) => undecodable.push(error),
    });
    const newer = encoding.createEncoder();
    encoding.writeVarString(newer, 'a newer node');
    encoding.writeVarUint(newer, 99);
    encoding.writeVarUint8Array(newer, new Uint8Array(0));
    await new MemoryPubSub(hub).publish(spaceId, encoding.toUint8Array(newer));
    await tick();
    expect(heard).toEqual([]);
    expect(undecodable).toHaveLength(1);
  });

  it('always publishes through a broker, which other processes may be listening to', async () => {
    const broker: PubSub = new MemoryPubSub();
    broker.subscribers = () => null;
    const { pubsub, published } = counted(broker);
    const bus = new SpaceBus(pubsub);
    await bus.subscribe(spaceId, { onBusMessage: () => {}, onUndecodable: () => {} });
    expect(bus.othersListening(spaceId)).toBe(true);
    await bus.publish(spaceId, BusKind.sealedEnvelope, payload);
    expect(published()).toBe(1);
  });
});
