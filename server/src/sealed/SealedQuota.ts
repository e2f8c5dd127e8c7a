import { CloseCode, type SpaceId } from '@mend/protocol';
import type { Logger } from '../log.js';
import { ProtocolViolation } from '../sync/ProtocolViolation.js';

/**
 * A sealed space's stored bytes against MEND_MAX_SPACE_BYTES, counted in the room so the check
 * costs no query per envelope: read at load and after each snapshot, raised by each stored
 * envelope. Appends under way count from the moment they start, so envelopes racing to storage
 * cannot pass the check together. Snapshots are not held to it: they replace what they cover,
 * and one at most is kept, so a space holds at most the quota plus one message.
 */
export class SealedQuota {
  readonly #spaceId: SpaceId;
  readonly #maxBytes: number;
  readonly #log: Logger;
  #stored = 0;
  #pending = 0;

  constructor(spaceId: SpaceId, maxBytes: number, log: Logger) {
    this.#spaceId = spaceId;
    this.#maxBytes = maxBytes;
    this.#log = log;
  }

  /** What storage says the space holds now. */
  set stored(bytes: number) {
    this.#stored = bytes;
  }

  /** Counts an append of `bytes` as under way, or throws (4507) if it would not fit. */
  reserve(bytes: number): void {
    if (this.#stored + this.#pending + bytes > this.#maxBytes) {
      this.#log.info(
        { spaceId: this.#spaceId, storedBytes: this.#stored, bytes },
        'refused an envelope: the space is at its stored-bytes quota',
      );
      throw new ProtocolViolation(CloseCode.spaceFull, 'space-full', 'the space is full');
    }
    this.#pending += bytes;
  }

  /** The append of `bytes` ended: stored, or not (a resend, a conflict, a failure). */
  settle(bytes: number, stored: boolean): void {
    this.#pending -= bytes;
    if (stored) this.#stored += bytes;
  }
}
