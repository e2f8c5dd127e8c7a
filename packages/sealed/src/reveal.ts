import { KEY_BYTES, NONCE_BYTES } from '@mend/protocol';
import {
  Limits,
  ModelError,
  ModelErrorCode,
  answerKeysDue,
  codePoints,
  getReveal,
  isId,
  randomId,
  submitHiddenAnswer,
  publishAnswerKey,
  type AnswerId,
  type EpochMs,
  type PartnerId,
  type RevealId,
  type RevealSnapshot,
} from '@mend/model';
import type * as Y from 'yjs';
import { concatBytes, equalBytes } from './bytes.js';
import { TAG_BYTES, aeadOpen, aeadSeal, hkdf, randomBytes, sha256 } from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import { PAD_BLOCK, pad, unpad } from './padding.js';

/*
 * Answers revealed together (packages/model SPEC.md, "Reveals"; docs/security.md). The author's
 * devices hide an answer with a key derived from their seat secret, which only that partner's
 * devices hold; the document keeps the sealed answer and SHA-256 of its key. When both partners
 * have answered, each author's device publishes its key, and every device opens both.
 *
 *   key        = HKDF-SHA256(seatSecret, info = "mend/v1/reveal-answer/" spaceId "/" revealId "/" answerId)
 *   commitment = SHA-256(key)
 *   sealed     = nonce (24) ‖ XChaCha20-Poly1305(key, nonce, padded UTF-8 answer,
 *                ad = "mend/v1/reveal-answer/" spaceId "/" revealId "/" answerId "/" partnerId)
 *
 * Ids are Mend ids (letters, digits, '-', '_'), so '/' cannot occur in them and each string has
 * one reading. The answer is padded (0x80, then zeros, to a multiple of PAD_BLOCK bytes) so its
 * length shows the other partner only which block it falls in before the reveal.
 */

/** A partner's secret for hiding their answers; only their own devices hold it. */
export type SeatSecret = Uint8Array & { readonly __brand: 'SeatSecret' };

export const SEAT_SECRET_BYTES = 32;
export { PAD_BLOCK };

const LABEL = 'mend/v1/reveal-answer';
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Where an answer belongs: bound into its key (but the author) and its sealing (all four). */
export interface RevealAnswerIds {
  readonly spaceId: string;
  readonly revealId: RevealId;
  readonly answerId: AnswerId;
  /** The author. */
  readonly partnerId: PartnerId;
}

export function newSeatSecret(): SeatSecret {
  return randomBytes(SEAT_SECRET_BYTES) as SeatSecret;
}

function requireIds(ids: RevealAnswerIds): void {
  for (const [name, value] of Object.entries(ids)) {
    if (!isId(value)) {
      throw new SealedError(SealedErrorReason.malformed, `The ${name} is not a Mend id.`);
    }
  }
}

/** A seat secret is 32 bytes; anything else is `badKey`. */
export function requireSeatSecret(seatSecret: Uint8Array): void {
  if (!(seatSecret instanceof Uint8Array) || seatSecret.length !== SEAT_SECRET_BYTES) {
    throw new SealedError(SealedErrorReason.badKey, 'A seat secret is 32 bytes.');
  }
}

/** The answer's key: the same on each of the author's devices, and on no one else's. */
export function revealAnswerKey(seatSecret: SeatSecret, ids: RevealAnswerIds): Uint8Array {
  requireSeatSecret(seatSecret);
  requireIds(ids);
  return hkdf(seatSecret, `${LABEL}/${ids.spaceId}/${ids.revealId}/${ids.answerId}`, KEY_BYTES);
}

/** SHA-256 of an answer's key: stored with the sealed answer, so a published key can be checked. */
export function revealAnswerCommitment(key: Uint8Array): Uint8Array {
  return sha256(key);
}

function associatedData(ids: RevealAnswerIds): Uint8Array {
  return utf8.encode(`${LABEL}/${ids.spaceId}/${ids.revealId}/${ids.answerId}/${ids.partnerId}`);
}

export interface SealedRevealAnswer {
  /** nonce ‖ ciphertext ‖ tag: what `submitHiddenAnswer` stores. */
  readonly sealed: Uint8Array;
  /** SHA-256 of the key. */
  readonly commitment: Uint8Array;
}

/** Seals an answer (at most `Limits.revealAnswer` characters) with its key, on the author's device. */
export function sealRevealAnswer(
  seatSecret: SeatSecret,
  ids: RevealAnswerIds,
  text: string,
): SealedRevealAnswer {
  if (typeof text !== 'string' || codePoints(text.trim()) < 1) {
    throw new ModelError(ModelErrorCode.invalidArgument, 'An answer must not be empty.');
  }
  if (codePoints(text) > Limits.revealAnswer) {
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      `An answer is at most ${Limits.revealAnswer} characters.`,
    );
  }
  const key = revealAnswerKey(seatSecret, ids);
  const { nonce, ciphertext } = aeadSeal(key, pad(utf8.encode(text)), associatedData(ids));
  return { sealed: concatBytes(nonce, ciphertext), commitment: revealAnswerCommitment(key) };
}

/**
 * The answer's text, from its key (published, or derived by its author's device). A key that is
 * not the committed one is `badKey`; a key, an id or a byte that does not match is
 * `badCiphertext`; a layout Mend never writes is `malformed`.
 */
export function openRevealAnswer(
  key: Uint8Array,
  ids: RevealAnswerIds,
  sealed: Uint8Array,
  commitment: Uint8Array,
): string {
  requireIds(ids);
  if (!(key instanceof Uint8Array) || !equalBytes(revealAnswerCommitment(key), commitment)) {
    throw new SealedError(
      SealedErrorReason.badKey,
      'That is not the key this answer was sealed with.',
    );
  }
  if (sealed.length < NONCE_BYTES + PAD_BLOCK + TAG_BYTES) {
    throw new SealedError(SealedErrorReason.malformed, 'A sealed answer is longer than that.');
  }
  const padded = aeadOpen(
    key,
    sealed.subarray(0, NONCE_BYTES),
    sealed.subarray(NONCE_BYTES),
    associatedData(ids),
  );
  if (!padded) {
    throw new SealedError(
      SealedErrorReason.badCiphertext,
      'This answer does not open with its key: it was changed, or sealed for another place.',
    );
  }
  const text = unpad(padded);
  if (!text) {
    throw new SealedError(SealedErrorReason.malformed, 'The answer is not padded as Mend pads it.');
  }
  try {
    return strictUtf8.decode(text);
  } catch {
    throw new SealedError(SealedErrorReason.malformed, 'The answer is not UTF-8 text.');
  }
}

// ---- with the space's document

export interface AnswerRevealInput {
  readonly seatSecret: SeatSecret;
  readonly spaceId: string;
  readonly revealId: RevealId;
  readonly partnerId: PartnerId;
  readonly text: string;
  readonly at: EpochMs;
  readonly answerId?: AnswerId;
}

/** Seals `text` on the author's device and stores it as their hidden answer (`submitHiddenAnswer`). */
export function answerReveal(doc: Y.Doc, input: AnswerRevealInput): RevealSnapshot {
  const answerId = input.answerId ?? (randomId() as AnswerId);
  const ids = {
    spaceId: input.spaceId,
    revealId: input.revealId,
    answerId,
    partnerId: input.partnerId,
  };
  const { sealed, commitment } = sealRevealAnswer(input.seatSecret, ids, input.text);
  return submitHiddenAnswer(doc, { ...ids, sealed, commitment, at: input.at });
}

export interface PublishDueInput {
  readonly seatSecret: SeatSecret;
  readonly spaceId: string;
  readonly partnerId: PartnerId;
  readonly at: EpochMs;
}

/**
 * What each of a partner's devices runs whenever the document changes: publishes the key of each
 * of their answers whose reveal both have answered. Returns the reveals it published a key for.
 * An answer this seat secret did not seal (another seat's, before issue 13 brings the secret to
 * every device) is left for the device that can.
 */
export function publishDueAnswerKeys(doc: Y.Doc, input: PublishDueInput): RevealId[] {
  const published: RevealId[] = [];
  for (const { revealId, answer } of answerKeysDue(doc, input.partnerId)) {
    const ids = {
      spaceId: input.spaceId,
      revealId,
      answerId: answer.answerId,
      partnerId: input.partnerId,
    };
    const key = revealAnswerKey(input.seatSecret, ids);
    if (!equalBytes(revealAnswerCommitment(key), answer.commitment)) continue;
    if (publishAnswerKey(doc, { revealId, partnerId: input.partnerId, key, at: input.at })) {
      published.push(revealId);
    }
  }
  return published;
}

/**
 * The texts of a reveal's answers that can be read on this device: every answer whose key is
 * published, and (with `own`) the device's own partner's answer before that, from their seat
 * secret. An answer that does not open throws its SealedError: the app says so calmly.
 */
export function openRevealAnswers(
  doc: Y.Doc,
  input: {
    readonly spaceId: string;
    readonly revealId: RevealId;
    readonly own?: { readonly partnerId: PartnerId; readonly seatSecret: SeatSecret };
  },
): Map<PartnerId, string> {
  const reveal = getReveal(doc, input.revealId);
  const out = new Map<PartnerId, string>();
  for (const { partnerId, answer } of reveal?.partners ?? []) {
    if (!answer) continue;
    const ids = {
      spaceId: input.spaceId,
      revealId: input.revealId,
      answerId: answer.answerId,
      partnerId,
    };
    const key =
      answer.key ??
      (input.own?.partnerId === partnerId ? revealAnswerKey(input.own.seatSecret, ids) : null);
    if (key) out.set(partnerId, openRevealAnswer(key, ids, answer.sealed, answer.commitment));
  }
  return out;
}
