import type { SpaceId } from '@mend/protocol';

/**
 * Fans messages of a space out between server processes. Adapters (in-memory, Redis) only move
 * bytes on a channel per space; what a message means, the node id that drops echoes, and the
 * resync after an outage live once, above this interface. One contract suite runs against
 * every adapter (`pubsubContract.testkit.ts`).
 */
export interface PubSub {
  /** Publishes to every subscriber of the space on every node (including this one). */
  publish(spaceId: SpaceId, message: Uint8Array): Promise<void>;
  /**
   * How many subscriptions to the space exist wherever this adapter delivers, when it can know
   * (every node in this process); null when other processes may be listening (a broker), so a
   * publish must never be skipped.
   */
  subscribers(spaceId: SpaceId): number | null;
  /** Resolves once the subscription is active; the returned function unsubscribes. */
  subscribe(
    spaceId: SpaceId,
    onMessage: (message: Uint8Array) => void,
  ): Promise<() => Promise<void>>;
  /**
   * Called after the connection to the broker was lost and is back (subscriptions restored):
   * messages may have been missed meanwhile, so loaded rooms resync from storage.
   * Returns a function that removes the listener.
   */
  onRecovered(listener: () => void): () => void;
  /**
   * Called once this node could publish again after it had to drop some of its messages (the
   * broker was away too long), with the spaces that lost messages: the other nodes' rooms of
   * those spaces missed them, and may hear nothing later that shows the gap. Returns a function
   * that removes the listener. An adapter that never drops (in-memory) never calls it.
   */
  onDropped(listener: (spaceIds: readonly SpaceId[]) => void): () => void;
  close(): Promise<void>;
}
