import { HASH_BYTES, ZERO_HASH } from '@mend/protocol';
import { equalBytes, fromBase64Url, toBase64Url } from './bytes.js';
import { SealedError, SealedErrorReason } from './errors.js';
import { isRecord } from './stored.js';
import type { SealedEnvelope } from './envelopes.js';

/** The chain fields the next envelope of a stream carries. */
export interface NextInChain {
  readonly stream: number;
  readonly counter: number;
  readonly prev: Uint8Array;
}

export interface StoredStreamWriter {
  readonly v: 1;
  readonly stream: number;
  /** The last counter sealed, 0 for none. */
  readonly counter: number;
  readonly hash: string;
}

/**
 * The author's side of one stream's chain: which counter and `prev` the next envelope carries.
 * The outbox stores `toStored()` with every envelope it seals, so a reload continues the chain
 * instead of sealing a second, different envelope at a counter already used.
 */
export class StreamWriter {
  #counter: number;
  #hash: Uint8Array;

  constructor(
    readonly stream: number,
    head: { readonly counter: number; readonly hash: Uint8Array } = { counter: 0, hash: ZERO_HASH },
  ) {
    if (!Number.isSafeInteger(stream) || stream < 0 || stream > 0xffff_ffff) {
      throw new SealedError(SealedErrorReason.malformed, 'A stream is a Yjs client id.');
    }
    if (
      !Number.isSafeInteger(head.counter) ||
      head.counter < 0 ||
      head.hash.length !== HASH_BYTES
    ) {
      throw new SealedError(SealedErrorReason.malformed, 'A stream head is a counter and a hash.');
    }
    this.#counter = head.counter;
    this.#hash = head.hash.slice();
  }

  /** Finishes the envelope being signed at `next()`, if any (`hold`). */
  #finishHeld: (() => void) | null = null;

  /**
   * The chain fields of the next envelope. An envelope still being signed at this place
   * (`hold`) is finished first, and any that finishing it started, so the next one always
   * follows them.
   */
  next(): NextInChain {
    // Finishing one may start the next envelope of this stream waiting behind it: that one too.
    while (this.#finishHeld !== null) {
      const finish = this.#finishHeld;
      this.#finishHeld = null;
      finish();
    }
    return { stream: this.stream, counter: this.#counter + 1, prev: this.#hash.slice() };
  }

  /**
   * An envelope made with `next()` is being signed asynchronously: `finish` signs it at once and
   * `advance`s past it, and does nothing once it was signed. The next `next()` calls it, so a
   * stream never has two envelopes at one counter.
   */
  hold(finish: () => void): void {
    this.#finishHeld = finish;
  }

  /** Records that `sealed` (made with `next()`) is now the stream's last envelope. */
  advance(sealed: SealedEnvelope): void {
    const { header } = sealed;
    const next = this.#counter + 1;
    if (
      header.stream !== this.stream ||
      header.counter !== next ||
      !equalBytes(header.prev, this.#hash)
    ) {
      throw new SealedError(
        SealedErrorReason.malformed,
        `That envelope does not continue stream ${this.stream} at ${next}.`,
      );
    }
    this.#counter = next;
    this.#hash = sealed.hash.slice();
  }

  toStored(): StoredStreamWriter {
    return { v: 1, stream: this.stream, counter: this.#counter, hash: toBase64Url(this.#hash) };
  }

  static restore(stored: unknown): StreamWriter {
    if (
      !isRecord(stored) ||
      stored['v'] !== 1 ||
      typeof stored['stream'] !== 'number' ||
      typeof stored['counter'] !== 'number' ||
      typeof stored['hash'] !== 'string'
    ) {
      throw new SealedError(SealedErrorReason.malformed, 'The stored stream is not readable.');
    }
    return new StreamWriter(stored['stream'], {
      counter: stored['counter'],
      hash: fromBase64Url(stored['hash'], HASH_BYTES),
    });
  }
}
