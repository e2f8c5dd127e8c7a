import type { SpaceId } from '@mend/protocol';
import type { PubSub } from './PubSub.js';

/**
 * Pub/sub inside one process: the default when REDIS_URL is unset (one server process, nothing
 * to fan out to). Delivery is asynchronous, like a broker's, so callers never rely on
 * re-entrancy. Several instances may share one `MemoryPubSub.Hub` to simulate several nodes in
 * tests.
 */
export class MemoryPubSub implements PubSub {
  readonly #hub: MemoryPubSubHub;
  /** Subscriptions by space. */
  readonly #subscriptions = new Map<SpaceId, Set<Subscription>>();
  readonly #recoveredListeners = new Set<() => void>();
  #closed = false;

  constructor(hub: MemoryPubSubHub = new MemoryPubSubHub()) {
    this.#hub = hub;
    hub.nodes.add(this);
  }

  async publish(spaceId: SpaceId, message: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error('pub/sub is closed');
    const copy = new Uint8Array(message);
    for (const node of this.#hub.nodes) node.#deliver(spaceId, copy);
  }

  subscribers(spaceId: SpaceId): number {
    let count = 0;
    for (const node of this.#hub.nodes) count += node.#subscriptions.get(spaceId)?.size ?? 0;
    return count;
  }

  async subscribe(
    spaceId: SpaceId,
    onMessage: (message: Uint8Array) => void,
  ): Promise<() => Promise<void>> {
    const subscription: Subscription = { onMessage };
    const ofSpace = this.#subscriptions.get(spaceId) ?? new Set<Subscription>();
    ofSpace.add(subscription);
    this.#subscriptions.set(spaceId, ofSpace);
    return async () => {
      ofSpace.delete(subscription);
      if (ofSpace.size === 0 && this.#subscriptions.get(spaceId) === ofSpace) {
        this.#subscriptions.delete(spaceId);
      }
    };
  }

  onRecovered(listener: () => void): () => void {
    this.#recoveredListeners.add(listener);
    return () => this.#recoveredListeners.delete(listener);
  }

  /** Every message is handed over at once: nothing is ever dropped. */
  onDropped(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Emptied too: deliveries already queued check them.
    for (const ofSpace of this.#subscriptions.values()) ofSpace.clear();
    this.#subscriptions.clear();
    this.#recoveredListeners.clear();
    this.#hub.nodes.delete(this);
  }

  #deliver(spaceId: SpaceId, message: Uint8Array): void {
    const ofSpace = this.#subscriptions.get(spaceId);
    if (!ofSpace) return;
    for (const subscription of ofSpace) {
      queueMicrotask(() => {
        if (!ofSpace.has(subscription)) return;
        try {
          subscription.onMessage(message);
        } catch {
          // One subscriber's failure is its own; the others and later messages go on.
        }
      });
    }
  }
}

interface Subscription {
  onMessage: (message: Uint8Array) => void;
}

/** What several in-process MemoryPubSub "nodes" share. */
export class MemoryPubSubHub {
  readonly nodes = new Set<MemoryPubSub>();
}
