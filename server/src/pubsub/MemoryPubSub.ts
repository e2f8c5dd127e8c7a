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
  readonly #subscriptions = new Set<{ spaceId: SpaceId; onMessage: (m: Uint8Array) => void }>();
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

  async subscribe(
    spaceId: SpaceId,
    onMessage: (message: Uint8Array) => void,
  ): Promise<() => Promise<void>> {
    const subscription = { spaceId, onMessage };
    this.#subscriptions.add(subscription);
    return async () => {
      this.#subscriptions.delete(subscription);
    };
  }

  onRecovered(listener: () => void): () => void {
    this.#recoveredListeners.add(listener);
    return () => this.#recoveredListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#subscriptions.clear();
    this.#recoveredListeners.clear();
    this.#hub.nodes.delete(this);
  }

  #deliver(spaceId: SpaceId, message: Uint8Array): void {
    for (const subscription of this.#subscriptions) {
      if (subscription.spaceId !== spaceId) continue;
      queueMicrotask(() => {
        if (!this.#subscriptions.has(subscription)) return;
        try {
          subscription.onMessage(message);
        } catch {
          // One subscriber's failure is its own; the others and later messages go on.
        }
      });
    }
  }
}

/** What several in-process MemoryPubSub "nodes" share. */
export class MemoryPubSubHub {
  readonly nodes = new Set<MemoryPubSub>();
}
