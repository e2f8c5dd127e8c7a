import type { OutboxEntry } from '../local/records.js';

/** Where the outbox is kept between reloads (IndexedDB in the browser, memory in Node). */
export interface OutboxStorage {
  /**
   * A new entry. `update` is the plaintext Yjs update the envelope carries (null for a member
   * statement, and for a carried envelope, whose changes the document holds already: `kindOf`
   * tells it apart), so a store can keep the change and its envelope in one write.
   */
  put(entry: OutboxEntry, update: Uint8Array | null): void;
  /** Removes the entries of `stream` with a counter at or below `counter`. */
  drop(stream: number, counter: number): void;
}

/**
 * Envelopes sealed on this device, in the order they were sealed, until the server acknowledges
 * them. They are resent as they are on every connect: the server stores each once (docs/protocol.md,
 * "Sequence rules"), so a resend after a lost acknowledgement is harmless.
 */
export class Outbox {
  readonly #entries: OutboxEntry[];
  readonly #storage: OutboxStorage | null;

  constructor(saved: readonly OutboxEntry[] = [], storage: OutboxStorage | null = null) {
    this.#entries = [...saved];
    this.#storage = storage;
  }

  get size(): number {
    return this.#entries.length;
  }

  entries(): readonly OutboxEntry[] {
    return this.#entries;
  }

  find(stream: number, counter: number): OutboxEntry | undefined {
    return this.#entries.find((e) => e.stream === stream && e.counter === counter);
  }

  add(entry: OutboxEntry, update: Uint8Array | null = null): void {
    this.#storage?.put(entry, update);
    this.#entries.push(entry);
  }

  /** Entries its storage holds already (written with the held changes they were sealed from). */
  addStored(entries: readonly OutboxEntry[]): void {
    this.#entries.push(...entries);
  }

  /** The server stored `stream` up to `counter`: those entries are done. */
  acknowledge(stream: number, counter: number): void {
    const before = this.#entries.length;
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      if (e.stream === stream && e.counter <= counter) this.#entries.splice(i, 1);
    }
    if (this.#entries.length !== before) this.#storage?.drop(stream, counter);
  }
}

/** An envelope's kind: its second byte (docs/protocol.md, "Envelopes"). */
export function kindOf(envelope: Uint8Array): number | undefined {
  return envelope[1];
}
