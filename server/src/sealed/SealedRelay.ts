import type { SpaceId } from '@mend/protocol';
import type { Metrics } from '../metrics.js';
import type { SealedLog } from '../storage/SealedLog.js';
import type { HoldQueue } from '../sync/HoldQueue.js';
import type { RoomSocket } from '../sync/RoomSocket.js';
import { SealedSequence, type ReleaseTarget, type Sender } from './SealedSequence.js';
import { envelopeMessage, type Outgoing, type SealedSession } from './SealedSession.js';

/** What the relay asks of its room (the room itself: a room holds no closures for its relay). */
export interface RelayRoom {
  readonly spaceId: SpaceId;
  readonly isOpen: boolean;
  /** Settles once the room's storage writes under way are handled. */
  writesSettled(): Promise<unknown>;
  /** Storage could not be read: the room fails. */
  fail(error: unknown): void;
}

export interface SealedRelayDeps {
  storage: Pick<SealedLog, 'loadEnvelopes'>;
  metrics: Metrics;
}

/** An ack owed to a socket for a resend, once its seq is released here. */
type OwedAck = Sender & { readonly seq: number };

/**
 * The space's stored envelopes, handed to this room's sockets in seq order: each as an
 * `envelope` to every other socket and as an `ack` to its sender, a resend's ack once its seq
 * was released. What arrives ahead of a missing seq waits (SealedSequence); the relay then lets
 * this process's own appends land and, if the seq is still missing, reads it from storage.
 */
export class SealedRelay implements ReleaseTarget {
  readonly #room: RelayRoom;
  readonly #deps: SealedRelayDeps;
  /** The room's sockets, each with its session. */
  readonly #sessions: ReadonlyMap<RoomSocket, SealedSession>;
  /** The room's queue for socket and bus messages, held while a gap is read from storage. */
  readonly #held: HoldQueue;
  readonly #sequence: SealedSequence = new SealedSequence(this);
  /** Acks owed for resends, in the order they came; null while none is (most rooms, always). */
  #owedAcks: OwedAck[] | null = null;
  #catchingUp = false;

  constructor(
    room: RelayRoom,
    sessions: ReadonlyMap<RoomSocket, SealedSession>,
    held: HoldQueue,
    deps: SealedRelayDeps,
  ) {
    this.#room = room;
    this.#sessions = sessions;
    this.#held = held;
    this.#deps = deps;
  }

  /** Starts after `head`, what storage held when the room loaded. */
  start(head: number): void {
    this.#sequence.start(head);
  }

  /** Whether a read from storage is under way. */
  get catchingUp(): boolean {
    return this.#catchingUp;
  }

  get waitingBytes(): number {
    return this.#sequence.waitingBytes;
  }

  /** This process stored `envelope` for `sender` under `seq`. */
  stored(seq: number, envelope: Uint8Array, sender: Sender): void {
    if (this.#sequence.offer(seq, envelope, sender) === 'old') {
      // A gap read from storage released it already (as an envelope to everyone else).
      this.#deliver(sender.socket, ackOf(sender, seq));
    }
    this.#watchForGap();
  }

  /** Another node stored `envelope` under `seq`. */
  fromNode(seq: number, envelope: Uint8Array): void {
    this.#sequence.offer(seq, envelope, null);
    this.#watchForGap();
  }

  /** A resend of an envelope stored under `ack.seq` (0: a snapshot has replaced it). */
  resent(ack: OwedAck): void {
    if (ack.seq <= this.#sequence.released) {
      this.#deliver(ack.socket, ackOf(ack, ack.seq));
      return;
    }
    (this.#owedAcks ??= []).push(ack);
    void this.catchUp(true);
  }

  /**
   * Reads from storage what this room has not released and releases it. Socket and bus
   * messages wait meanwhile (so no socket is sent its own envelope as someone else's), and this
   * process's appends under way land first. With `always` false, only if a seq is missing.
   */
  async catchUp(always: boolean): Promise<void> {
    const room = this.#room;
    const deps = this.#deps;
    if (this.#catchingUp || !room.isOpen) return;
    this.#catchingUp = true;
    this.#held.hold();
    try {
      await room.writesSettled();
      const behind = always || this.#sequence.hasGap || this.#owedAcks !== null;
      if (room.isOpen && behind) {
        deps.metrics.sealedGapLoads.inc();
        const loaded = await deps.storage.loadEnvelopes(room.spaceId, this.#sequence.released);
        if (loaded.snapshot) {
          // A device compacted past what this node relayed: its sockets reconnect and get the
          // snapshot in their backlog.
          throw new Error('a sealed snapshot replaced envelopes this process had not relayed');
        }
        if (room.isOpen) this.#sequence.fill(loaded.envelopes);
      }
    } catch (error) {
      room.fail(error);
    } finally {
      this.#catchingUp = false;
      this.#held.release();
    }
  }

  #watchForGap(): void {
    if (this.#sequence.hasGap) void this.catchUp(false);
  }

  /** SealedSequence's hand-over of `seq`, in order (ReleaseTarget): not for the room to call. */
  release(seq: number, envelope: Uint8Array, from: Sender | null): void {
    // Encoded once, for every socket it goes to.
    let relayed: Outgoing | null = null;
    for (const [socket, session] of this.#sessions) {
      if (from?.socket === socket) session.deliver(ackOf(from, seq));
      else session.deliver((relayed ??= envelopeMessage(seq, envelope)));
    }
    const owed = this.#owedAcks;
    if (owed === null) return;
    const due = owed.filter((ack) => ack.seq <= seq);
    const rest = owed.filter((ack) => ack.seq > seq);
    this.#owedAcks = rest.length > 0 ? rest : null;
    for (const ack of due) this.#deliver(ack.socket, ackOf(ack, ack.seq));
  }

  #deliver(socket: RoomSocket, item: Outgoing): void {
    this.#sessions.get(socket)?.deliver(item);
  }
}

function ackOf(sender: Sender, seq: number): Outgoing {
  return { kind: 'ack', stream: sender.stream, counter: sender.counter, seq };
}
