import { CloseCode } from '@mend/protocol';
import type { Limits } from '../config.js';
import type { Metrics } from '../metrics.js';
import { decodeAwareness, encodeAwareness, type AwarenessEntry } from './awareness.js';
import { ProtocolViolation } from './ProtocolViolation.js';
import type { RoomSocket } from './RoomSocket.js';

/** Remote awareness states not renewed for this long are stale (y-protocols' own timeout). */
const AWARENESS_TIMEOUT_MS = 30_000;

export interface PresenceDeps {
  limits: Pick<
    Limits,
    'awarenessStateBytes' | 'awarenessEntriesPerMessage' | 'awarenessClientsPerSocket'
  >;
  metrics: Metrics;
  now: () => number;
}

interface AwarenessRecord {
  clock: number;
  state: string;
  /** The local socket that owns it, or null for a state relayed from another node. */
  owner: RoomSocket | null;
  updatedAt: number;
}

/**
 * Who is present in one room: every awareness state the room knows (its own sockets' and those
 * relayed from other nodes), and which socket owns which. It decides what may be applied and
 * relayed; the room does the sending. Every update it returns is an awareness update (the
 * payload of an awareness message), ready for the sockets and the other nodes.
 */
export class RoomPresence {
  readonly #deps: PresenceDeps;
  readonly #records = new Map<number, AwarenessRecord>();
  /** Awareness client ids each local socket speaks for. */
  readonly #clientIds = new Map<RoomSocket, Set<number>>();

  constructor(deps: PresenceDeps) {
    this.#deps = deps;
  }

  /**
   * Applies `socket`'s update and returns what of it to relay (to every socket and the other
   * nodes), or null if nothing. Throws a ProtocolViolation for an update out of bounds, or
   * one that would make the socket speak for too many clients.
   *
   * A socket speaks only for the presence it introduced: an entry for a client id another
   * socket (or another node) owns, say the partner's, is neither applied nor relayed, so nobody
   * can remove or rewrite the partner's presence. Sealed spaces will sign presence instead. A
   * state relayed from another node that has expired may be taken over: that is how a device
   * whose node died gets its presence back on the node it moved to.
   */
  receive(socket: RoomSocket, update: Uint8Array): Uint8Array | null {
    const limits = this.#deps.limits;
    const entries = decodeAwareness(update, {
      maxStateBytes: limits.awarenessStateBytes,
      maxEntries: limits.awarenessEntriesPerMessage,
    });
    const now = this.#deps.now();
    const relayed: AwarenessEntry[] = [];
    for (const entry of entries) {
      const record = this.#records.get(entry.clientId);
      const owned =
        record?.owner === socket ||
        (record?.owner === null && now - record.updatedAt > AWARENESS_TIMEOUT_MS);
      if (record ? !owned : entry.state === 'null') {
        // Someone else's state, or the removal of a state nobody here holds.
        this.#deps.metrics.reject('awareness-not-owned');
        continue;
      }
      relayed.push(entry);
      if (
        record &&
        !(entry.clock > record.clock || (entry.clock === record.clock && entry.state === 'null'))
      ) {
        continue;
      }
      const clientIds = this.#clientIds.get(socket) ?? new Set<number>();
      if (entry.state === 'null') {
        this.#records.delete(entry.clientId);
        clientIds.delete(entry.clientId);
        continue;
      }
      if (!clientIds.has(entry.clientId)) {
        if (clientIds.size >= limits.awarenessClientsPerSocket) {
          throw new ProtocolViolation(
            CloseCode.awarenessTooLarge,
            'awareness-too-large',
            'too many awareness clients on one socket',
          );
        }
        clientIds.add(entry.clientId);
        this.#clientIds.set(socket, clientIds);
      }
      this.#records.set(entry.clientId, {
        clock: entry.clock,
        state: entry.state,
        owner: socket,
        updatedAt: now,
      });
    }
    if (relayed.length === 0) return null;
    return relayed.length === entries.length ? update : encodeAwareness(relayed);
  }

  /**
   * Applies an update another node relayed (the room passes it on to its sockets as it is).
   * Throws if it is out of bounds; nothing of it is applied then.
   */
  receiveRemote(update: Uint8Array): void {
    // Other nodes relay whole batches (a room closing gives up all its devices at once).
    const entries = decodeAwareness(update, {
      maxStateBytes: this.#deps.limits.awarenessStateBytes,
      maxEntries: Number.POSITIVE_INFINITY,
    });
    const now = this.#deps.now();
    for (const entry of entries) {
      const record = this.#records.get(entry.clientId);
      if (record && entry.clock < record.clock) continue;
      if (entry.state === 'null') this.#records.delete(entry.clientId);
      else {
        this.#records.set(entry.clientId, { ...entry, owner: null, updatedAt: now });
      }
    }
  }

  /** Everyone present, for a socket that joins or asks; null if nobody. Drops expired states. */
  current(): Uint8Array | null {
    const now = this.#deps.now();
    const entries: AwarenessEntry[] = [];
    for (const [clientId, record] of this.#records) {
      if (record.owner === null && now - record.updatedAt > AWARENESS_TIMEOUT_MS) {
        this.#records.delete(clientId);
        continue;
      }
      entries.push({ clientId, clock: record.clock, state: record.state });
    }
    return entries.length > 0 ? encodeAwareness(entries) : null;
  }

  /** Forgets a socket that left; returns the removal of the states it owned, or null if none. */
  release(socket: RoomSocket): Uint8Array | null {
    const clientIds = this.#clientIds.get(socket);
    this.#clientIds.delete(socket);
    const removed: AwarenessEntry[] = [];
    for (const clientId of clientIds ?? []) {
      const record = this.#records.get(clientId);
      if (record?.owner !== socket) continue;
      this.#records.delete(clientId);
      removed.push({ clientId, clock: record.clock + 1, state: 'null' });
    }
    return removed.length > 0 ? encodeAwareness(removed) : null;
  }

  /**
   * Forgets everyone; returns the removal of the states this node's sockets owned (for the
   * other nodes), or null if none.
   */
  clear(): Uint8Array | null {
    const gone: AwarenessEntry[] = [];
    for (const [clientId, record] of this.#records) {
      if (record.owner !== null) gone.push({ clientId, clock: record.clock + 1, state: 'null' });
    }
    this.#records.clear();
    this.#clientIds.clear();
    return gone.length > 0 ? encodeAwareness(gone) : null;
  }
}
