import { isPartnerId, KEY_BYTES, type PartnerId } from '@mend/protocol';
import { fromBase64Url, toBase64Url } from '../bytes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { restoreIdentity, storeIdentity, type IdentityWithBytes } from '../identity.js';
import type { InviteSecret } from '../invite.js';
import { SEAT_SECRET_BYTES, type SeatSecret } from '../reveal.js';
import { isRecord } from '../stored.js';

/**
 * What a device keeps of a plaintext space before it is sealed (docs/protocol.md, "Converting a
 * plaintext space"), in `LocalSpaceStore`'s sealing record, sealed at rest: the keys it offered
 * in the document and, once it started converting, what must stay the same across attempts
 * (a lost answer, a reload): the space key, the stream, the seat secret and the invite secret.
 * Whatever attempt lands, this device then holds the key it sealed the space with.
 *
 * Stored as UTF-8 JSON `{ v: 1, identity: StoredIdentity, pending: null | { partnerId, stream,
 * spaceKey, seatSecret, inviteSecret } }`, the keys in base64url; read strictly.
 */
export interface SealingRecord {
  readonly identity: IdentityWithBytes;
  readonly pending: PendingSeal | null;
}

export interface PendingSeal {
  readonly partnerId: PartnerId;
  /** The Yjs client id the member statement and the genesis are written with. */
  readonly stream: number;
  /** Epoch 1's key. */
  readonly spaceKey: Uint8Array;
  readonly seatSecret: SeatSecret;
  /** Used when the conversion sends a new sealed invite. */
  readonly inviteSecret: InviteSecret;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeSealingRecord(record: SealingRecord): Uint8Array {
  const p = record.pending;
  return encoder.encode(
    JSON.stringify({
      v: 1,
      identity: storeIdentity(record.identity),
      pending: p && {
        partnerId: p.partnerId,
        stream: p.stream,
        spaceKey: toBase64Url(p.spaceKey),
        seatSecret: toBase64Url(p.seatSecret),
        inviteSecret: toBase64Url(p.inviteSecret),
      },
    }),
  );
}

/** Reads a sealing record back; throws a SealedError (`malformed`) for anything else. */
export function decodeSealingRecord(bytes: Uint8Array): SealingRecord {
  let stored: unknown;
  try {
    stored = JSON.parse(decoder.decode(bytes));
  } catch {
    throw unreadable();
  }
  if (!isRecord(stored) || stored['v'] !== 1) throw unreadable();
  const identity = restoreIdentity(stored['identity']);
  const p = stored['pending'];
  if (p === null) return { identity, pending: null };
  if (!isRecord(p) || !isPartnerId(p['partnerId']) || !isStream(p['stream'])) throw unreadable();
  return {
    identity,
    pending: {
      partnerId: p['partnerId'],
      stream: p['stream'],
      spaceKey: readKey(p['spaceKey'], KEY_BYTES),
      seatSecret: readKey(p['seatSecret'], SEAT_SECRET_BYTES) as SeatSecret,
      inviteSecret: readKey(p['inviteSecret'], KEY_BYTES) as InviteSecret,
    },
  };
}

function isStream(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}

function readKey(value: unknown, length: number): Uint8Array {
  if (typeof value !== 'string') throw unreadable();
  return fromBase64Url(value, length);
}

function unreadable(): SealedError {
  return new SealedError(
    SealedErrorReason.malformed,
    'The keys this device keeps for sealing this space cannot be read.',
  );
}
