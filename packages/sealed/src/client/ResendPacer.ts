import type { OutboxEntry } from '../local/records.js';
import type { Outbox } from './Outbox.js';

export interface ResendPace {
  /** Envelopes sent at once on connect, and the most left unacknowledged afterwards. */
  readonly window: number;
  /** The pace after the first window, in envelopes per second. */
  readonly perSecond: number;
}

/**
 * The server allows a socket a burst of 400 messages and 100 a second after it (docs/api.md,
 * "Limits on one socket") and closes it with 1013 beyond; an outbox of a long offline stretch
 * sent whole would close the socket every time. Sends a window at once, then one envelope at a
 * time at a pace under the server's, and waits for acks while a window is unacknowledged.
 * Envelopes sealed meanwhile keep to the same budget (a window's burst, then the pace), so a
 * device that seals many at once (changes queued for their signatures while offline, a program
 * writing in a loop) stays under the server's limit too.
 */
export class ResendPacer {
  readonly #outbox: Outbox;
  readonly #send: (envelope: Uint8Array) => void;
  readonly #pace: ResendPace;
  #queue: OutboxEntry[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Envelopes that may go now: a window's worth at most, refilled at the pace (`#refill`). */
  #budget = 0;
  /** When it was refilled last; 0 refills it whole (a new socket). */
  #refilledAt = 0;

  constructor(outbox: Outbox, send: (envelope: Uint8Array) => void, pace: ResendPace) {
    this.#outbox = outbox;
    this.#send = send;
    this.#pace = pace;
  }

  /** A socket opened: everything in the outbox goes out again, window first. */
  start(): void {
    this.stop();
    this.#refilledAt = 0;
    this.#refill();
    this.#queue = [...this.#outbox.entries()];
    for (const entry of this.#queue.splice(0, this.#pace.window)) this.#spend(entry);
    this.#schedule();
  }

  /**
   * Sends an envelope sealed now (it is in the outbox already), after those still to be resent:
   * sent ahead of them, it would skip counters of its stream that the server has not stored yet
   * (4409). Past the budget it waits its turn.
   */
  send(entry: OutboxEntry): void {
    if (this.#queue.length === 0 && this.#refill() >= 1) return this.#spend(entry);
    this.#queue.push(entry);
    this.#schedule();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue = [];
  }

  /** An ack arrived: a window that was full may have room again. */
  acknowledged(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#queue.length === 0) return;
    this.#timer = setTimeout(() => this.#tick(), 1000 / this.#pace.perSecond);
  }

  #tick(): void {
    this.#timer = null;
    // An ack of a later counter acknowledges the earlier ones of its stream too.
    while (this.#queue[0] && !this.#outbox.find(this.#queue[0].stream, this.#queue[0].counter)) {
      this.#queue.shift();
    }
    const unacknowledged = this.#outbox.size - this.#queue.length;
    if (unacknowledged >= this.#pace.window) return; // the next ack schedules again
    // One a tick; a timer that fires a little early leaves it for the next.
    const entry = this.#refill() > 0.9 ? this.#queue.shift() : undefined;
    if (entry) this.#spend(entry);
    this.#schedule();
  }

  /** The budget now, refilled at the pace since it was last looked at. */
  #refill(): number {
    const now = Date.now();
    const refilled = ((now - this.#refilledAt) * this.#pace.perSecond) / 1000;
    this.#budget = Math.min(this.#pace.window, this.#budget + refilled);
    this.#refilledAt = now;
    return this.#budget;
  }

  #spend(entry: OutboxEntry): void {
    this.#budget -= 1;
    this.#send(entry.envelope);
  }
}
