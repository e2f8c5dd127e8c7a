import type { SpaceId } from '@mend/protocol';
import type { Metrics } from '../metrics.js';
import type { SealedLog } from '../storage/SealedLog.js';
import type { HoldQueue } from '../sync/HoldQueue.js';
import type { RoomSocket } from '../sync/RoomSocket.js';
import { SealedSequence, type Sender } from './SealedSequence.js';
import { envelopeMessage, type Outgoing, type SealedSession } from './SealedSession.js';

export interface SealedRelayDeps {
  spaceId: SpaceId;
  storage: Pick<SealedLog, 'loadEnvelopes'>;
  metrics: Metrics;
  /** The room's sockets, each with its session. */
  sessions: ReadonlyMap<RoomSocket, SealedSession>;
  /** The room's queue for socket and bus messages, held while a gap is read from storage. */
  held: HoldQueue;
  /** Settles once the room's storage writes under way are handled. */
  writesSettled: () => Promise<unknown>;
  isOpen: () => boolean;
  /** Storage could not be read: the room fails. */
  fail: (error: unknown) => void;
}

/** An ack owed to a socket for a resend, once its seq is released here. */
type OwedAck = Sender & { readonly seq: number };

/**
 * The space's stored envelopes, handed to this room's sockets in seq order: each as an
 * `envelope` to every other socket and as an `ack` to its sender, a resend's ack once its seq
 * was released. What arrives ahead of a missing seq waits (SealedSequence); the relay then lets
 * this process's own appends land and, if the seq is still missing, reads it from storage.
 */
export class SealedRelay {
  readonly #deps: SealedRelayDeps;
  readonly #sequence = new SealedSequence((seq, envelope, from) =>
    this.#release(seq, envelope, from),
  );
  #owedAcks: OwedAck[] = [];
  #catchingUp = false;

  constructor(deps: SealedRelayDeps) {
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
    this.#owedAcks.push(ack);
    void this.catchUp(true);
  }

  /**
   * Reads from storage what this room has not released and releases it. Socket and bus
   * messages wait meanwhile (so no socket is sent its own envelope as someone else's), and this
   * process's appends under way land first. With `always` false, only if a seq is missing.
   */
  async catchUp(always: boolean): Promise<void> {
    const deps = this.#deps;
    if (this.#catchingUp || !deps.isOpen()) return;
    this.#catchingUp = true;
    deps.held.hold();
    try {
      await deps.writesSettled();
      const behind = always || this.#sequence.hasGap || this.#owedAcks.length > 0;
      if (deps.isOpen() && behind) {
        deps.metrics.sealedGapLoads.inc();
        const loaded = await deps.storage.loadEnvelopes(deps.spaceId, this.#sequence.released);
        if (loaded.snapshot) {
          // A device compacted past what this node relayed: its sockets reconnect and get the
          // snapshot in their backlog.
          throw new Error('a sealed snapshot replaced envelopes this process had not relayed');
        }
        if (deps.isOpen()) this.#sequence.fill(loaded.envelopes);
      }
    } catch (error) {
      deps.fail(error);
    } finally {
      this.#catchingUp = false;
      deps.held.release();
    }
  }

  #watchForGap(): void {
    if (this.#sequence.hasGap) void this.catchUp(false);
  }

  #release(seq: number, envelope: Uint8Array, from: Sender | null): void {
    // Encoded once, for every socket it goes to.
    let relayed: Outgoing | null = null;
    for (const [socket, session] of this.#deps.sessions) {
      if (from?.socket === socket) session.deliver(ackOf(from, seq));
      else session.deliver((relayed ??= envelopeMessage(seq, envelope)));
    }
    if (this.#owedAcks.length === 0) return;
    const due = this.#owedAcks.filter((ack) => ack.seq <= seq);
    this.#owedAcks = this.#owedAcks.filter((ack) => ack.seq > seq);
    for (const ack of due) this.#deliver(ack.socket, ackOf(ack, ack.seq));
  }

  #deliver(socket: RoomSocket, item: Outgoing): void {
    this.#deps.sessions.get(socket)?.deliver(item);
  }
}

function ackOf(sender: Sender, seq: number): Outgoing {
  return { kind: 'ack', stream: sender.stream, counter: sender.counter, seq };
}
