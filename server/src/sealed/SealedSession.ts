import { SealedMessage, encodeServerMessage, type ServerMessage } from '@mend/protocol';
import type { Counter } from 'prom-client';
import type { RoomSocket } from '../sync/RoomSocket.js';
import type { SocketBudget } from '../sync/SocketBudget.js';
import type { CompactBytes } from './compactBytes.js';

/**
 * What the room owes a socket as the space's envelopes are released. An envelope comes encoded
 * as its server message (`envelopeMessage`), once for all the sockets it goes to.
 */
export type Outgoing =
  | { readonly kind: 'envelope'; readonly seq: number; readonly message: Uint8Array }
  | {
      readonly kind: 'ack';
      readonly stream: number;
      readonly counter: number;
      readonly seq: number;
    };

/** Where sessions send, one for all of a room's sessions (an object, not closures). */
export class SessionOutput {
  readonly #sockets: { send(socket: RoomSocket, message: Uint8Array): void };
  readonly #relayed: Pick<Counter, 'inc'>;

  /** Sends through the room's `sockets` (counted there); counts envelopes in `relayed`. */
  constructor(
    sockets: { send(socket: RoomSocket, message: Uint8Array): void },
    relayed: Pick<Counter, 'inc'>,
  ) {
    this.#sockets = sockets;
    this.#relayed = relayed;
  }

  /** Sends one encoded server message to `socket`. */
  send(socket: RoomSocket, message: Uint8Array): void {
    this.#sockets.send(socket, message);
  }

  /** Told each time an `envelope` message goes out (metrics). */
  relayed(): void {
    this.#relayed.inc();
  }
}

type Phase =
  /** Attached; no hello yet: nothing is sent until the device says where it stands. */
  | { readonly kind: 'waiting' }
  /** A hello's backlog is being read: what is released meanwhile queues, in order. */
  | { readonly kind: 'catching-up'; readonly id: number; readonly queue: Outgoing[] }
  /** Backlog sent: envelopes go out as they are released, each once. */
  | { readonly kind: 'live' };

/** The phases without data, one object each for every session (memory per idle socket). */
const WAITING: Phase = { kind: 'waiting' };
const LIVE: Phase = { kind: 'live' };

/**
 * One socket of a sealed room: the device its token names, the stream its hello named, and
 * where it stands in the space's order. It hands the socket every seq exactly once, in order:
 * the backlog up to the head it was read at, then whatever was released while it was read
 * (queued meanwhile) above that head, then each envelope as it is released. Its own envelopes
 * come back as `ack`s, in the same order.
 */
export class SealedSession {
  /** The device's signing key: the only `author` this socket may write as. */
  readonly device: CompactBytes;
  /** What the socket may still send (the room's sockets keep no other map of it). */
  readonly budget: SocketBudget;
  /** The stream its hello named; null before the first hello. */
  stream: number | null = null;
  /** The latest presence envelope this socket sent (relayed to devices that arrive later). */
  presence: CompactBytes | null = null;
  readonly #socket: RoomSocket;
  readonly #output: SessionOutput;
  #phase: Phase = WAITING;
  /** The highest seq sent to this socket; envelopes at or below it are not sent again. */
  #sentUpTo = 0;

  constructor(
    device: CompactBytes,
    socket: RoomSocket,
    output: SessionOutput,
    budget: SocketBudget,
  ) {
    this.device = device;
    this.budget = budget;
    this.#socket = socket;
    this.#output = output;
  }

  /**
   * A hello: from now on releases queue until the backlog of catch-up `id` is sent. A hello
   * during another one's catch-up keeps what was queued and supersedes its backlog.
   */
  startCatchUp(id: number): void {
    const queue = this.#phase.kind === 'catching-up' ? this.#phase.queue : [];
    this.#phase = { kind: 'catching-up', id, queue };
  }

  /**
   * The backlog of catch-up `id`, read up to `head`: sends its parts, then what was released
   * meanwhile. Returns false (sending nothing) when a later hello superseded it.
   */
  finishCatchUp(id: number, parts: readonly ServerMessage[], head: number): boolean {
    if (this.#phase.kind !== 'catching-up' || this.#phase.id !== id) return false;
    const queue = this.#phase.queue;
    for (const part of parts) this.#output.send(this.#socket, encodeServerMessage(part));
    this.#sentUpTo = head;
    this.#phase = LIVE;
    for (const item of queue) this.deliver(item);
    return true;
  }

  /** Hands over one released envelope or ack, now or (while catching up) after the backlog. */
  deliver(item: Outgoing): void {
    switch (this.#phase.kind) {
      case 'waiting':
        // Its backlog, once it says hello, will hold it; and it has submitted nothing yet.
        return;
      case 'catching-up':
        this.#phase.queue.push(item);
        return;
      case 'live':
        if (item.kind === 'ack') {
          const { stream, counter, seq } = item;
          const ack = encodeServerMessage({ type: SealedMessage.ack, stream, counter, seq });
          this.#output.send(this.#socket, ack);
          return;
        }
        if (item.seq <= this.#sentUpTo) return;
        this.#sentUpTo = item.seq;
        this.#output.send(this.#socket, item.message);
        this.#output.relayed();
        return;
      default: {
        const unreachable: never = this.#phase;
        return unreachable;
      }
    }
  }

  /** Memory this session holds beyond its fixed size: queued envelopes and its presence. */
  get heldBytes(): number {
    let bytes = this.presence?.length ?? 0;
    if (this.#phase.kind === 'catching-up') {
      for (const item of this.#phase.queue)
        if (item.kind === 'envelope') bytes += item.message.byteLength;
    }
    return bytes;
  }
}

/** The `envelope` server message for `envelope` stored under `seq`. */
export function envelopeMessage(seq: number, envelope: Uint8Array): Outgoing {
  const message = encodeServerMessage({ type: SealedMessage.envelope, seq, envelope });
  return { kind: 'envelope', seq, message };
}
