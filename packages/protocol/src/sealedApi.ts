import { ID_PATTERN, MAX_PARTNERS } from '@mend/model';
import { fromBase64UrlEncoded, toBase64UrlEncoded } from 'lib0/buffer';
import * as v from 'valibot';
import { fieldMessage } from './api.js';
import type { PartnerId, SpaceId } from './ids.js';
import { KEY_BYTES } from './sealedEnvelope.js';

/** The largest welcome box a create may carry (docs/api.md, sealed spaces). */
export const MAX_WELCOME_BYTES = 1024;

/** Invite codes are 16 bytes of HKDF output, base64url: 22 characters (docs/protocol.md). */
const INVITE_CODE = /^[A-Za-z0-9_-]{22}$/;

/**
 * Canonical unpadded base64url decoding to `length` bytes (or 1 to `max` bytes): a string that
 * decodes but would not encode back the same (stray trailing bits) is refused, so one key has
 * one spelling.
 */
function base64UrlBytes(message: string, size: { length: number } | { max: number }) {
  return v.pipe(
    v.string(message),
    v.regex(/^[A-Za-z0-9_-]+$/, message),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const decoded = decodeBase64Url(dataset.value);
      const fits =
        decoded !== null &&
        ('length' in size ? decoded.length === size.length : decoded.length <= size.max);
      if (!fits) {
        addIssue({ message });
        return NEVER;
      }
      return decoded;
    }),
  );
}

function decodeBase64Url(text: string): Uint8Array | null {
  try {
    const bytes = fromBase64UrlEncoded(text);
    return toBase64UrlEncoded(bytes) === text ? bytes : null;
  } catch {
    return null;
  }
}

const SigningKey = base64UrlBytes(fieldMessage.signingKey, { length: KEY_BYTES });
const AgreementKey = base64UrlBytes(fieldMessage.agreementKey, { length: KEY_BYTES });
const InviteCode = v.pipe(
  v.string(fieldMessage.inviteCode),
  v.regex(INVITE_CODE, fieldMessage.inviteCode),
);

/** Body of `POST /api/sealed-spaces`: the creating device's public keys and the invite. */
export const CreateSealedSpaceRequest = v.object({
  signingKey: SigningKey,
  agreementKey: AgreementKey,
  inviteCode: InviteCode,
  welcome: base64UrlBytes(fieldMessage.welcome, { max: MAX_WELCOME_BYTES }),
});
export type CreateSealedSpaceRequest = v.InferOutput<typeof CreateSealedSpaceRequest>;

/**
 * Body of `POST /api/sealed-spaces/:spaceId/welcome`: the invite code from the link's secret and
 * a join code the device chose (16 random bytes, like an invite code), which from then on stands
 * for the invite: the device joins with it, and asks again with both if an answer was lost.
 */
export const SealedWelcomeRequest = v.object({ inviteCode: InviteCode, joinCode: InviteCode });
export type SealedWelcomeRequest = v.InferOutput<typeof SealedWelcomeRequest>;

/** 200 answer to a welcome request: the welcome box and the creating device's keys. */
export interface SealedWelcomeResponse {
  welcome: string;
  creator: DevicePublicKeys;
}

/** Body of `POST /api/sealed-spaces/:spaceId/join`: `inviteCode` is the invite or join code. */
export const JoinSealedSpaceRequest = v.object({
  inviteCode: InviteCode,
  signingKey: SigningKey,
  agreementKey: AgreementKey,
});
export type JoinSealedSpaceRequest = v.InferOutput<typeof JoinSealedSpaceRequest>;

/** 201 answer to a sealed create. */
export interface CreateSealedSpaceResponse {
  spaceId: SpaceId;
  partnerId: PartnerId;
  token: string;
}

/** A device's public keys, base64url. */
export interface DevicePublicKeys {
  signingKey: string;
  agreementKey: string;
}

/** 201 answer to a sealed join: the welcome box and the creating device's keys. */
export interface JoinSealedSpaceResponse {
  spaceId: SpaceId;
  partnerId: PartnerId;
  token: string;
  /**
   * base64url of the welcome box the creating device left; absent when it was handed over
   * before the join (`/welcome`), as the app does.
   */
  welcome?: string;
  creator: DevicePublicKeys;
}

/**
 * Body of `POST /sync/:spaceId/seal` (docs/protocol.md, "Converting a plaintext space"):
 *
 * - `devices`: one entry per partner of the space that is not revoked, with the keys the
 *   document's `sealing` map lists, and for every device but the caller's the `box` of the space
 *   key (`boxSeal` of the welcome payload to the device's agreement key);
 * - `envelopes`: the caller's member statement and the genesis (a carried envelope holding the
 *   whole plaintext document), seq 1 and 2 of the sealed log;
 * - `invite`: a new sealed invite, only while the space waits for its second partner.
 *
 * `maxEnvelopeBytes` is the largest envelope the server takes on the sealed socket
 * (MEND_MAX_MESSAGE_BYTES): the genesis is the whole document, as large as a snapshot.
 */
export function sealSpaceRequest(maxEnvelopeBytes: number) {
  const devices = fieldMessage.devices;
  const envelope = base64UrlBytes(fieldMessage.envelopes, { max: maxEnvelopeBytes });
  const sealingDevice = v.object(
    {
      partnerId: v.pipe(
        v.string(devices),
        v.regex(ID_PATTERN, devices),
        v.transform((s) => s as PartnerId),
      ),
      signingKey: base64UrlBytes(devices, { length: KEY_BYTES }),
      agreementKey: base64UrlBytes(devices, { length: KEY_BYTES }),
      box: v.optional(base64UrlBytes(devices, { max: MAX_WELCOME_BYTES })),
    },
    devices,
  );
  return v.object({
    devices: v.pipe(
      v.array(sealingDevice, devices),
      v.minLength(1, devices),
      v.maxLength(MAX_PARTNERS, devices),
    ),
    envelopes: v.strictTuple([envelope, envelope], fieldMessage.envelopes),
    invite: v.optional(
      v.object(
        {
          inviteCode: v.pipe(
            v.string(fieldMessage.invite),
            v.regex(INVITE_CODE, fieldMessage.invite),
          ),
          welcome: base64UrlBytes(fieldMessage.invite, { max: MAX_WELCOME_BYTES }),
        },
        fieldMessage.invite,
      ),
    ),
  });
}
/** A seal request as the server reads it: keys, boxes and envelopes decoded into bytes. */
export type SealSpaceRequest = v.InferOutput<ReturnType<typeof sealSpaceRequest>>;
/** A seal request as a device writes it: keys, boxes and envelopes in base64url. */
export type SealSpaceRequestBody = v.InferInput<ReturnType<typeof sealSpaceRequest>>;

/** 200 answer to a seal: the seq of the genesis, the last envelope it stored. */
export interface SealSpaceResponse {
  seq: number;
}

/**
 * 200 answer to `GET /sync/:spaceId/key`: the box of the space key the converting device left
 * for this device (null for the converting device itself, which made the key), and the
 * converting device's public keys, which the box must name.
 */
export interface SealedKeyResponse {
  box: string | null;
  creator: DevicePublicKeys;
}

/** base64url without padding, as the sealed routes write keys and boxes. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return toBase64UrlEncoded(bytes);
}
