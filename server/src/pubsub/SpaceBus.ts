import { randomBytes } from 'node:crypto';
import type { SpaceId } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { PubSub } from './PubSub.js';

/** What travels between server processes about a space. */
export const BusKind = {
  /** A Yjs update that the publishing node already stored: apply and relay, never store again. */
  update: 0,
  /** An awareness update (y-protocols encoding) to relay. */
  awareness: 1,
  /** Sealed spaces: an envelope the publishing node stored, with its seq (src/sealed/sealedBus). */
  sealedEnvelope: 2,
  /** Sealed spaces: a presence envelope to relay, never stored. */
  sealedPresence: 3,
  /** Sealed spaces: a device's stream whose socket closed. */
  sealedLeft: 4,
  // 5 was an earlier, payload-less form of membersEnded that meant only "sealed now". A new
  // number rather than a payload on 5: during a rolling deploy a process of that version drops
  // membersEnded as unknown, where it would have taken a revoke for a seal.
  /**
   * Members' sockets end on every process, with 4401 (their token revoked) or 4410 (their
   * plaintext space sealed; the plaintext room is forgotten too). Payload: pubsub/membersEnded.
   */
  membersEnded: 6,
  /**
   * The publishing node had to drop some of its messages of this space (Redis was away too
   * long): read storage for what they carried. No payload. A process older than this kind drops
   * it as undecodable (a warning), and its devices catch up when they reconnect, as before.
   */
  catchUp: 7,
} as const;
export type BusKind = (typeof BusKind)[keyof typeof BusKind];

const busKinds = new Set<number>(Object.values(BusKind));

function isBusKind(kind: number): kind is BusKind {
  return busKinds.has(kind);
}

export interface BusMessage {
  kind: BusKind;
  payload: Uint8Array;
}

/** Who hears a space's messages from the other nodes: an object (a room's bus), not closures. */
export interface BusListener {
  /** A message another node published. */
  onBusMessage(message: BusMessage): void;
  /** A message that did not decode: dropped, and told here. */
  onUndecodable(error: unknown): void;
}

/**
 * The meaning above the PubSub byte pipe: every message carries the publishing node's id so a
 * node drops its own echoes. Wire format: varString nodeId, varUint kind, varUint8Array payload.
 */
export class SpaceBus {
  readonly nodeId: string;
  readonly #pubsub: PubSub;
  /** This bus's own subscriptions by space: they never hear what it publishes. */
  readonly #own = new Map<SpaceId, number>();

  constructor(pubsub: PubSub, nodeId: string = randomBytes(9).toString('base64url')) {
    this.#pubsub = pubsub;
    this.nodeId = nodeId;
    // The node that dropped stored everything itself: only the other nodes need to catch up.
    pubsub.onDropped((spaceIds) => {
      for (const spaceId of spaceIds) {
        void this.publish(spaceId, BusKind.catchUp, new Uint8Array(0)).catch(() => {
          // Their devices still catch up when they reconnect.
        });
      }
    });
  }

  /**
   * Whether anyone but this bus may hear a publish for the space: always behind a broker
   * (Redis); in one process, only if another bus subscribed (tests' simulated nodes).
   */
  othersListening(spaceId: SpaceId): boolean {
    const all = this.#pubsub.subscribers(spaceId);
    return all === null || all > (this.#own.get(spaceId) ?? 0);
  }

  /** Publishes to the other nodes; nothing at all when none listens (its own echo is dropped). */
  publish(spaceId: SpaceId, kind: BusKind, payload: Uint8Array): Promise<void> {
    if (!this.othersListening(spaceId)) return Promise.resolve();
    const encoder = encoding.createEncoder();
    encoding.writeVarString(encoder, this.nodeId);
    encoding.writeVarUint(encoder, kind);
    encoding.writeVarUint8Array(encoder, payload);
    return this.#pubsub.publish(spaceId, encoding.toUint8Array(encoder));
  }

  /**
   * Subscribes to other nodes' messages for a space. Messages this node published, and
   * messages that do not decode, never reach `listener.onBusMessage`.
   */
  async subscribe(spaceId: SpaceId, listener: BusListener): Promise<() => Promise<void>> {
    const unsubscribe = await this.#pubsub.subscribe(spaceId, (raw) => {
      let message: BusMessage | null;
      try {
        message = this.#decode(raw);
      } catch (error) {
        listener.onUndecodable(error);
        return;
      }
      if (message) listener.onBusMessage(message);
    });
    this.#own.set(spaceId, (this.#own.get(spaceId) ?? 0) + 1);
    let subscribed = true;
    return async () => {
      if (subscribed) {
        subscribed = false;
        const left = (this.#own.get(spaceId) ?? 1) - 1;
        if (left === 0) this.#own.delete(spaceId);
        else this.#own.set(spaceId, left);
      }
      await unsubscribe();
    };
  }

  onRecovered(listener: () => void): () => void {
    return this.#pubsub.onRecovered(listener);
  }

  #decode(raw: Uint8Array): BusMessage | null {
    const decoder = decoding.createDecoder(raw);
    const nodeId = decoding.readVarString(decoder);
    if (nodeId === this.nodeId) return null;
    const kind = decoding.readVarUint(decoder);
    const payload = decoding.readVarUint8Array(decoder);
    if (!isBusKind(kind)) throw new Error(`unknown bus message kind ${kind}`);
    return { kind, payload };
  }
}
