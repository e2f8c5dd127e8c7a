import * as random from 'lib0/random';

/** The ids the model stores. Brands keep one kind of id from being passed where another belongs. */
export type SpaceId = string & { readonly __brand: 'SpaceId' };
export type PartnerId = string & { readonly __brand: 'PartnerId' };
export type AgreementId = string & { readonly __brand: 'AgreementId' };
export type QuestionId = string & { readonly __brand: 'QuestionId' };
/** An item in a question's thread (an answer or a follow-up), or an answer or follow-up in a reveal. */
export type AnswerId = string & { readonly __brand: 'AnswerId' };
export type KeepEntryId = string & { readonly __brand: 'KeepEntryId' };
export type BoundaryId = string & { readonly __brand: 'BoundaryId' };
/** `${date}:${partnerId}`: derived, so two devices of one partner write to the same check-in. */
export type CheckinKey = string & { readonly __brand: 'CheckinKey' };
/** `${date}:${partnerId}`: derived like a check-in's, so a partner has one share a day. */
export type ShareKey = string & { readonly __brand: 'ShareKey' };
export type BreakId = string & { readonly __brand: 'BreakId' };
/** A prompt both partners answer, each unseen by the other until both have (SPEC.md, Reveals). */
export type RevealId = string & { readonly __brand: 'RevealId' };
/** An after-a-fight repair (SPEC.md, After a fight). */
export type RepairId = string & { readonly __brand: 'RepairId' };
/** `${week}:${partnerId}`: a partner's part of the weekly meeting of the week starting `week`. */
export type MeetingKey = string & { readonly __brand: 'MeetingKey' };

/** Makes a fresh random, URL-safe id. Inject your own for deterministic tests. */
export type IdGenerator = () => string;

/**
 * The one id shape: space and partner ids on the wire (docs/api.md) and every id in the document.
 * The protocol, the server, the app and the tests import it from here.
 */
export const ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/**
 * A device's public key (Ed25519 or X25519) as the document writes it: unpadded base64url of
 * exactly 32 bytes, 43 characters, the last one carrying 4 bits and two zero bits (so every key
 * has one spelling and two spellings never name one key). The sealing offers and device names
 * use it (sealing.ts, devices.ts).
 */
const KEY_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export function isSealingKey(value: unknown): value is string {
  return typeof value === 'string' && KEY_PATTERN.test(value);
}

const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** 22 characters from a 64-letter alphabet: 132 bits from the platform's crypto random source. */
export const randomId: IdGenerator = () => {
  let id = '';
  while (id.length < 22) {
    let bits = random.uint32();
    // Five 6-bit letters per 32-bit draw; the two leftover bits are dropped.
    for (let i = 0; i < 5 && id.length < 22; i++) {
      id += URL_SAFE[bits & 63];
      bits >>>= 6;
    }
  }
  return id;
};
