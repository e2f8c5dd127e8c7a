import { EnvelopeKind, ZERO_HASH, type EnvelopeHeader } from '@mend/protocol';
import { equalBytes, fromBase64Url, toBase64Url } from './bytes.js';
import { SealedError, SealedErrorReason } from './errors.js';
import { isRecord } from './stored.js';
import { checkHeads, type ChainHead } from './payloads.js';

/**
 * Why an envelope does not continue what a device has seen (docs/protocol.md, "Streams and
 * chains"). The server orders envelopes and could drop, replay, reorder or roll them back; these
 * are how a device notices.
 */
export const ChainProblem = {
  /** Exactly the envelope accepted last on this stream, again. */
  duplicate: 'duplicate',
  /** A counter at or below the stream's head: an old envelope served again, or out of order. */
  replayed: 'replayed',
  /** A counter past the next one: the envelopes before it are missing (or come later). */
  skipped: 'skipped',
  /** The right counter, but `prev` is not the head's hash: the envelope before was changed. */
  forked: 'forked',
  /** The stream belongs to another device. */
  foreignStream: 'foreignStream',
  /** The server serves less than it served before. */
  rolledBack: 'rolledBack',
  /** Presence and snapshots have no chain; updates, members and keys have no presence check. */
  wrongKind: 'wrongKind',
} as const;
export type ChainProblem = (typeof ChainProblem)[keyof typeof ChainProblem];

export type ChainCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly problem: ChainProblem; readonly message: string };

export interface StoredChains {
  readonly v: 1;
  readonly seq: number;
  readonly heads: readonly {
    readonly author: string;
    readonly stream: number;
    readonly counter: number;
    readonly hash: string;
  }[];
}

const OK: ChainCheck = { ok: true };

/**
 * A device's view of a space's order: for each stream, the device that owns it and the head of
 * its chain; for the space, the last `seq` applied in order; for presence, the last counter per
 * stream. `check*` says whether something continues that view; `accept*` checks and, only if it
 * does, advances. Pure and synchronous; the sync client stores `toStored()` beside its document.
 */
export class StreamChains {
  readonly #streams = new Map<number, ChainHead>();
  readonly #presence = new Map<string, number>();
  #seq = 0;

  /** The last `seq` applied in order (0 for none): what the device says in `hello`. */
  get seq(): number {
    return this.#seq;
  }

  head(stream: number): ChainHead | undefined {
    return this.#streams.get(stream);
  }

  /** Every head, by stream: what a snapshot written now says it covers. */
  heads(): ChainHead[] {
    return [...this.#streams.values()].sort((a, b) => a.stream - b.stream);
  }

  /** Whether an update, member or keys envelope continues its stream's chain. */
  check(header: EnvelopeHeader, hash: Uint8Array): ChainCheck {
    if (header.kind === EnvelopeKind.presence || header.kind === EnvelopeKind.snapshot) {
      return problem('wrongKind', 'Presence and snapshots are not part of a chain.');
    }
    const head = this.#streams.get(header.stream);
    if (head && !equalBytes(head.author, header.author)) {
      return problem('foreignStream', `Stream ${header.stream} belongs to another device.`);
    }
    const next = (head?.counter ?? 0) + 1;
    if (head && header.counter === head.counter && equalBytes(hash, head.hash)) {
      return problem('duplicate', `Envelope ${header.counter} of stream ${header.stream} again.`);
    }
    if (header.counter < next) {
      return problem(
        'replayed',
        `Envelope ${header.counter} of stream ${header.stream} came again or out of order.`,
      );
    }
    if (header.counter > next) {
      return problem(
        'skipped',
        `Envelope ${header.counter} of stream ${header.stream} came before envelope ${next}.`,
      );
    }
    if (!equalBytes(header.prev, head?.hash ?? ZERO_HASH)) {
      return problem(
        'forked',
        `Envelope ${header.counter} of stream ${header.stream} follows an envelope this device never saw.`,
      );
    }
    return OK;
  }

  /** Checks, and if the envelope continues its chain, makes it the stream's head. */
  accept(header: EnvelopeHeader, hash: Uint8Array): ChainCheck {
    const verdict = this.check(header, hash);
    if (verdict.ok) {
      this.#streams.set(header.stream, {
        author: header.author.slice(),
        stream: header.stream,
        counter: header.counter,
        hash: hash.slice(),
      });
    }
    return verdict;
  }

  /** Presence counts only from the stream's owner and only when its counter grows. */
  checkPresence(header: EnvelopeHeader): ChainCheck {
    if (header.kind !== EnvelopeKind.presence) {
      return problem('wrongKind', 'Only presence envelopes carry presence.');
    }
    const owner = this.#streams.get(header.stream)?.author;
    if (owner && !equalBytes(owner, header.author)) {
      return problem('foreignStream', `Stream ${header.stream} belongs to another device.`);
    }
    const last = this.#presence.get(presenceKey(header)) ?? -1;
    if (header.counter <= last) {
      return problem('replayed', `Presence of stream ${header.stream} came again or out of order.`);
    }
    return OK;
  }

  acceptPresence(header: EnvelopeHeader): ChainCheck {
    const verdict = this.checkPresence(header);
    if (verdict.ok) this.#presence.set(presenceKey(header), header.counter);
    return verdict;
  }

  /** Whether `seq` is the next in the space: the server numbers envelopes without gaps. */
  checkSeq(seq: number): ChainCheck {
    if (seq <= this.#seq) {
      return problem('replayed', `The server served position ${seq} again (had ${this.#seq}).`);
    }
    if (seq > this.#seq + 1) {
      return problem('skipped', `The server skipped from position ${this.#seq} to ${seq}.`);
    }
    return OK;
  }

  acceptSeq(seq: number): ChainCheck {
    const verdict = this.checkSeq(seq);
    if (verdict.ok) this.#seq = seq;
    return verdict;
  }

  /**
   * Moves past the seqs after this one through `through`, which the server left out: it said
   * they exist (a backlog's head) and did not serve them. Unlike `acceptSeq` this jumps, so only
   * a caller that knows they will not come may use it, and it records why.
   */
  passOver(through: number): ChainCheck {
    if (!Number.isSafeInteger(through) || through <= this.#seq) {
      return problem('replayed', `Position ${through} is not past ${this.#seq}.`);
    }
    this.#seq = through;
    return OK;
  }

  /** A backlog's `head` below what this device already applied: the server went back. */
  checkServerHead(head: number): ChainCheck {
    if (head < this.#seq) {
      return problem(
        'rolledBack',
        `The server now holds ${head} envelopes; it already served ${this.#seq}.`,
      );
    }
    return OK;
  }

  /**
   * Whether a snapshot covering `coversSeq` with these heads fits what this device saw. A device
   * behind the snapshot jumps to it: every stream it knows must be there, owned by the same
   * device, at or past its head. A device that already applied `coversSeq` keeps its own view;
   * the snapshot must not claim envelopes it never saw or differ at its heads.
   */
  checkSnapshot(coversSeq: number, heads: readonly ChainHead[]): ChainCheck {
    checkHeads(heads);
    const ahead = coversSeq > this.#seq;
    const byStream = new Map(heads.map((h) => [h.stream, h]));
    for (const mine of this.#streams.values()) {
      const theirs = byStream.get(mine.stream);
      if (!theirs) {
        if (ahead) {
          return problem('rolledBack', `A snapshot leaves out stream ${mine.stream}.`);
        }
        continue;
      }
      if (!equalBytes(theirs.author, mine.author)) {
        return problem(
          'foreignStream',
          `A snapshot gives stream ${mine.stream} to another device.`,
        );
      }
      if (theirs.counter === mine.counter && !equalBytes(theirs.hash, mine.hash)) {
        return problem(
          'forked',
          `A snapshot differs at envelope ${mine.counter} of stream ${mine.stream}.`,
        );
      }
      if (ahead && theirs.counter < mine.counter) {
        return problem('rolledBack', `A snapshot goes back on stream ${mine.stream}.`);
      }
      if (!ahead && theirs.counter > mine.counter) {
        return problem(
          'forked',
          `A snapshot claims envelopes of stream ${mine.stream} never served.`,
        );
      }
    }
    if (!ahead) {
      for (const h of heads) {
        if (!this.#streams.has(h.stream)) {
          return problem('forked', `A snapshot claims a stream (${h.stream}) never served.`);
        }
      }
    }
    return OK;
  }

  /** Checks, and if the snapshot is ahead of this device, takes its heads and position. */
  acceptSnapshot(coversSeq: number, heads: readonly ChainHead[]): ChainCheck {
    const verdict = this.checkSnapshot(coversSeq, heads);
    if (verdict.ok && coversSeq > this.#seq) {
      for (const h of heads) {
        this.#streams.set(h.stream, { ...h, author: h.author.slice(), hash: h.hash.slice() });
      }
      this.#seq = coversSeq;
    }
    return verdict;
  }

  toStored(): StoredChains {
    return {
      v: 1,
      seq: this.#seq,
      heads: this.heads().map((h) => ({
        author: toBase64Url(h.author),
        stream: h.stream,
        counter: h.counter,
        hash: toBase64Url(h.hash),
      })),
    };
  }

  static restore(stored: unknown): StreamChains {
    if (!isRecord(stored) || stored['v'] !== 1 || !Array.isArray(stored['heads'])) {
      throw unreadable();
    }
    const seq = stored['seq'];
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw unreadable();
    const heads = (stored['heads'] as unknown[]).map((h): ChainHead => {
      if (
        !isRecord(h) ||
        typeof h['author'] !== 'string' ||
        typeof h['hash'] !== 'string' ||
        typeof h['stream'] !== 'number' ||
        typeof h['counter'] !== 'number'
      ) {
        throw unreadable();
      }
      return {
        author: fromBase64Url(h['author']),
        stream: h['stream'],
        counter: h['counter'],
        hash: fromBase64Url(h['hash']),
      };
    });
    checkHeads(heads);
    const chains = new StreamChains();
    for (const h of heads) chains.#streams.set(h.stream, h);
    chains.#seq = seq;
    return chains;
  }
}

function presenceKey(header: EnvelopeHeader): string {
  return `${toBase64Url(header.author)}/${header.stream}`;
}

function problem(kind: ChainProblem, message: string): ChainCheck {
  return { ok: false, problem: kind, message };
}

function unreadable(): SealedError {
  return new SealedError(SealedErrorReason.malformed, 'The stored chain heads are not readable.');
}
