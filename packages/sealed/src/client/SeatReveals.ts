import type { EpochMs, PartnerId, RevealId, RevealSnapshot } from '@mend/model';
import { getReveal } from '@mend/model';
import type * as Y from 'yjs';
import { SealedError } from '../errors.js';
import {
  answerReveal,
  openRevealAnswer,
  publishDueAnswerKeys,
  revealAnswerKey,
  type SeatSecret,
} from '../reveal.js';

/** One partner's answer as this device can read it. */
export type ReadableAnswer =
  /** Its text: the key is published, or it is this device's partner's own answer. */
  | { readonly partnerId: PartnerId; readonly text: string }
  /** Answered, and still hidden from this device (its key is not published yet). */
  | { readonly partnerId: PartnerId; readonly hidden: true }
  /** It does not open with its key (changed, or sealed by a dishonest device): said so calmly. */
  | { readonly partnerId: PartnerId; readonly unreadable: SealedError };

export interface SeatRevealsOptions {
  readonly spaceId: string;
  readonly partnerId: PartnerId;
  readonly seatSecret: SeatSecret;
  /** Milliseconds a change waits before the due keys are looked for; 50 by default. */
  readonly pauseMs?: number;
  readonly now?: () => number;
  /** A key that could not be published (a damaged document); the space keeps working. */
  readonly problem?: (error: unknown) => void;
}

/**
 * A partner's seat in the space's reveals, on one of their devices: it answers (sealing with the
 * seat secret, which stays in here), reads what this device may read, and publishes the keys of
 * its partner's answers as soon as both partners have answered. It looks after every change to
 * the document, wherever it came from and whether or not the space is connected, so a reveal
 * happens on the first answerer's device when the second answer arrives, however much later.
 */
export class SeatReveals {
  readonly #doc: Y.Doc;
  readonly #options: SeatRevealsOptions;
  readonly #onUpdate: () => void;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #destroyed = false;

  constructor(doc: Y.Doc, options: SeatRevealsOptions) {
    this.#doc = doc;
    this.#options = options;
    // Never written from inside the 'update' event: the transaction that fired it is still
    // being closed, and a write there would nest in its cleanup. A timer runs after it.
    this.#onUpdate = () => this.#schedule();
    doc.on('update', this.#onUpdate);
    // What arrived before this seat was opened (the stored copy) may hold a reveal that is due.
    this.#schedule();
  }

  /** Seals `text` as this partner's answer to the reveal and stores it in the document. */
  answer(revealId: RevealId, text: string): RevealSnapshot {
    return answerReveal(this.#doc, {
      seatSecret: this.#options.seatSecret,
      spaceId: this.#options.spaceId,
      revealId,
      partnerId: this.#options.partnerId,
      text,
      at: this.#now(),
    });
  }

  /** Each answer of the reveal as this device can read it, in the order of the reveal's partners. */
  read(revealId: RevealId): ReadableAnswer[] {
    const reveal = getReveal(this.#doc, revealId);
    const out: ReadableAnswer[] = [];
    for (const { partnerId, answer } of reveal?.partners ?? []) {
      if (!answer) continue;
      const ids = {
        spaceId: this.#options.spaceId,
        revealId,
        answerId: answer.answerId,
        partnerId,
      };
      try {
        const key =
          answer.key ??
          (partnerId === this.#options.partnerId
            ? revealAnswerKey(this.#options.seatSecret, ids)
            : null);
        out.push(
          key === null
            ? { partnerId, hidden: true }
            : { partnerId, text: openRevealAnswer(key, ids, answer.sealed, answer.commitment) },
        );
      } catch (error) {
        if (!(error instanceof SealedError)) throw error;
        out.push({ partnerId, unreadable: error });
      }
    }
    return out;
  }

  /** Publishes the keys due now; returns the reveals it published a key for. */
  publishDue(): RevealId[] {
    if (this.#destroyed) return [];
    return publishDueAnswerKeys(this.#doc, {
      seatSecret: this.#options.seatSecret,
      spaceId: this.#options.spaceId,
      partnerId: this.#options.partnerId,
      at: this.#now(),
    });
  }

  destroy(): void {
    this.#destroyed = true;
    this.#doc.off('update', this.#onUpdate);
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#destroyed || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      try {
        this.publishDue();
      } catch (error) {
        // From a timer nothing may escape; the next change looks again.
        this.#options.problem?.(error);
      }
    }, this.#options.pauseMs ?? 50);
  }

  #now(): EpochMs {
    return (this.#options.now ?? Date.now)() as EpochMs;
  }
}
