import { KEY_BYTES, NONCE_BYTES } from '@mend/protocol';
import {
  CheckinState,
  Limits,
  ModelError,
  ModelErrorCode,
  PrivateScope,
  checkInPrivately,
  codePoints,
  isId,
  isIsoDate,
  type CheckinKey,
  type CheckinSnapshot,
  type EpochMs,
  type IsoDate,
  type PartnerId,
} from '@mend/model';
import type * as Y from 'yjs';
import { concatBytes, fromBase64Url, toBase64Url } from './bytes.js';
import { TAG_BYTES, aeadOpen, aeadSeal, hkdf } from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import { PAD_BLOCK, pad, unpad } from './padding.js';
import { requireSeatSecret, type SeatSecret } from './reveal.js';

/*
 * A check-in kept private (packages/model SPEC.md 47; docs/security.md, "Private check-ins"):
 * sealed on its author's device with a key derived from their seat secret, which only that
 * partner's devices hold, so the other partner's devices and the server hold only ciphertext.
 *
 *   key       = HKDF-SHA256(seatSecret, info = "mend/v1/private-checkin/" spaceId "/" partnerId)
 *   sealed    = base64url(nonce (24) ‖ XChaCha20-Poly1305(key, nonce, padded plaintext,
 *               ad = "mend/v1/private-checkin/" spaceId "/" partnerId "/" date "/" scope))
 *   plaintext = the note (scope "note"), or safety "\n" state "\n" note (scope "checkin"), UTF-8
 *
 * The day and the scope are bound in, so a sealed text cannot be moved to another day or read as
 * the other kind; a fresh nonce is drawn for every seal. Padded as answers are (padding.ts).
 */

const LABEL = 'mend/v1/private-checkin';
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Whose check-in, where, and which day: bound into its sealing. */
export interface PrivateCheckinIds {
  readonly spaceId: string;
  /** The author. */
  readonly partnerId: PartnerId;
  readonly date: IsoDate;
}

/** What a partner keeps to themselves: the day's note, or the whole check-in. */
export type PrivateCheckinContent =
  | { readonly scope: typeof PrivateScope.note; readonly note: string }
  | {
      readonly scope: typeof PrivateScope.checkin;
      readonly safety: number;
      readonly state: CheckinState;
      readonly note: string;
    };

/** A check-in as its author reads it, with what they kept private opened. */
export interface OwnCheckin {
  readonly safety: number;
  readonly state: CheckinState;
  readonly note: string;
  /** What of it the other partner cannot read. */
  readonly private: PrivateScope | null;
}

function requireIds(ids: PrivateCheckinIds): void {
  if (!isId(ids.spaceId) || !isId(ids.partnerId) || !isIsoDate(ids.date)) {
    throw new SealedError(
      SealedErrorReason.malformed,
      'A check-in is named by Mend ids and a day.',
    );
  }
}

/** The key of a partner's private check-ins in a space: the same on each of their devices only. */
export function privateCheckinKey(seatSecret: SeatSecret, ids: PrivateCheckinIds): Uint8Array {
  requireSeatSecret(seatSecret);
  requireIds(ids);
  return hkdf(seatSecret, `${LABEL}/${ids.spaceId}/${ids.partnerId}`, KEY_BYTES);
}

function associatedData(ids: PrivateCheckinIds, scope: PrivateScope): Uint8Array {
  return utf8.encode(`${LABEL}/${ids.spaceId}/${ids.partnerId}/${ids.date}/${scope}`);
}

function invalid(message: string): ModelError {
  return new ModelError(ModelErrorCode.invalidArgument, message);
}

const STATES: readonly string[] = Object.values(CheckinState);

function isSafety(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= Limits.safetyMin &&
    value <= Limits.safetyMax
  );
}

/** The plaintext of `content`, checked as the model checks an open check-in. */
function plaintextOf(content: PrivateCheckinContent): string {
  if (typeof content.note !== 'string' || codePoints(content.note) > Limits.note) {
    throw invalid(`A note is at most ${Limits.note} characters.`);
  }
  switch (content.scope) {
    case PrivateScope.note:
      return content.note;
    case PrivateScope.checkin:
      if (!isSafety(content.safety)) {
        throw invalid(
          `Felt safety is a whole number from ${Limits.safetyMin} to ${Limits.safetyMax}.`,
        );
      }
      if (!STATES.includes(content.state)) throw invalid('That is not a state a check-in has.');
      return `${content.safety}\n${content.state}\n${content.note}`;
    default: {
      const unreachable: never = content;
      throw invalid(`Unknown scope ${String((unreachable as { scope: unknown }).scope)}.`);
    }
  }
}

/** Seals what the author keeps private, on their device: the text `checkInPrivately` stores. */
export function sealPrivateCheckin(
  seatSecret: SeatSecret,
  ids: PrivateCheckinIds,
  content: PrivateCheckinContent,
): string {
  const plaintext = plaintextOf(content);
  const key = privateCheckinKey(seatSecret, ids);
  const { nonce, ciphertext } = aeadSeal(
    key,
    pad(utf8.encode(plaintext)),
    associatedData(ids, content.scope),
  );
  return toBase64Url(concatBytes(nonce, ciphertext));
}

function malformed(): SealedError {
  return new SealedError(
    SealedErrorReason.malformed,
    'This private check-in is not laid out as Mend seals one.',
  );
}

/**
 * What the author kept private, opened on one of their devices. A seat secret, day or scope that
 * is not the one it was sealed with, or a changed byte, is `badCiphertext`; a layout Mend never
 * writes is `malformed`.
 */
export function openPrivateCheckin(
  seatSecret: SeatSecret,
  ids: PrivateCheckinIds,
  scope: PrivateScope,
  sealed: string,
): PrivateCheckinContent {
  const key = privateCheckinKey(seatSecret, ids);
  const bytes = fromBase64Url(sealed);
  if (bytes.length < NONCE_BYTES + PAD_BLOCK + TAG_BYTES) throw malformed();
  const padded = aeadOpen(
    key,
    bytes.subarray(0, NONCE_BYTES),
    bytes.subarray(NONCE_BYTES),
    associatedData(ids, scope),
  );
  if (!padded) {
    throw new SealedError(
      SealedErrorReason.badCiphertext,
      'This private check-in does not open on this device: it was changed, or sealed by another.',
    );
  }
  const unpadded = unpad(padded);
  if (!unpadded) throw malformed();
  let text: string;
  try {
    text = strictUtf8.decode(unpadded);
  } catch {
    throw malformed();
  }
  if (scope === PrivateScope.note) return { scope, note: text };
  const [safety, state, ...note] = text.split('\n');
  const value = Number(safety);
  if (safety !== String(value) || !isSafety(value) || !STATES.includes(state ?? '')) {
    throw malformed();
  }
  return { scope, safety: value, state: state as CheckinState, note: note.join('\n') };
}

// ---- with the space's document

export interface KeepCheckinPrivateInput {
  readonly seatSecret: SeatSecret;
  readonly spaceId: string;
  readonly partnerId: PartnerId;
  readonly date: IsoDate;
  readonly safety: number;
  readonly state: CheckinState;
  readonly note: string;
  /** `note`: safety and state are shared, the note is sealed; `checkin`: all three are sealed. */
  readonly scope: PrivateScope;
  readonly at: EpochMs;
}

/** Seals on the author's device and stores the day's check-in kept private (`checkInPrivately`). */
export function keepCheckinPrivate(doc: Y.Doc, input: KeepCheckinPrivateInput): CheckinKey {
  const ids = { spaceId: input.spaceId, partnerId: input.partnerId, date: input.date };
  const common = { partnerId: input.partnerId, date: input.date, at: input.at };
  if (input.scope === PrivateScope.note) {
    const sealed = sealPrivateCheckin(input.seatSecret, ids, {
      scope: input.scope,
      note: input.note,
    });
    return checkInPrivately(doc, {
      ...common,
      scope: input.scope,
      safety: input.safety,
      state: input.state,
      sealed,
    });
  }
  const sealed = sealPrivateCheckin(input.seatSecret, ids, {
    scope: PrivateScope.checkin,
    safety: input.safety,
    state: input.state,
    note: input.note,
  });
  return checkInPrivately(doc, { ...common, scope: PrivateScope.checkin, sealed });
}

/**
 * The author's own check-in, with what they kept private opened by their seat secret. Throws the
 * SealedError of a private part that does not open (the app says so calmly); another partner's
 * private check-in never opens with this seat (`badCiphertext`).
 */
export function readOwnCheckin(
  seatSecret: SeatSecret,
  spaceId: string,
  checkin: CheckinSnapshot,
): OwnCheckin {
  if (checkin.private === null) {
    return { safety: checkin.safety, state: checkin.state, note: checkin.note, private: null };
  }
  const ids = { spaceId, partnerId: checkin.partnerId, date: checkin.date };
  const opened = openPrivateCheckin(seatSecret, ids, checkin.private, checkin.sealed);
  if (checkin.private === PrivateScope.note) {
    return {
      safety: checkin.safety,
      state: checkin.state,
      note: opened.note,
      private: checkin.private,
    };
  }
  if (opened.scope !== PrivateScope.checkin) throw malformed();
  return { safety: opened.safety, state: opened.state, note: opened.note, private: opened.scope };
}
