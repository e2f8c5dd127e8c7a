import {
  KEY_BYTES,
  MAX_LINK_BOX_BYTES,
  fieldMessage,
  type DevicePublicKeys,
  type PartnerId,
} from '@mend/protocol';
import * as v from 'valibot';

/*
 * The bodies and answers of the device list, removal, recovery kit and epoch box routes
 * (docs/api.md, "Removing a device", "The devices of a space", "Recovery kit", "Epoch boxes"). They sit beside the server's
 * routes for now; they belong in @mend/protocol beside the link routes' once a device speaks
 * them (issue 13, the device side).
 */

/** Ed25519 signatures, in bytes. */
const SIGNATURE_BYTES = 64;
/** Recovery challenges are 16 random bytes, base64url: 22 characters. */
const CHALLENGE = /^[A-Za-z0-9_-]{22}$/;

const recoveryField =
  'The recovery could not be prepared. Please enter your recovery code again.' as const;

/** Canonical unpadded base64url of `length` bytes, or of 1 to `max`; one spelling per value. */
function base64UrlBytes(message: string, size: { length: number } | { max: number }) {
  return v.pipe(
    v.string(message),
    v.regex(/^[A-Za-z0-9_-]+$/, message),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const decoded = Buffer.from(dataset.value, 'base64url');
      const fits =
        decoded.toString('base64url') === dataset.value &&
        ('length' in size ? decoded.length === size.length : decoded.length <= size.max);
      if (!fits) {
        addIssue({ message });
        return NEVER;
      }
      return new Uint8Array(decoded);
    }),
  );
}

/** The signing key in `DELETE …/devices/:signingKey`, or null for one that could be no key. */
export function signingKeyOfPath(raw: string): Uint8Array | null {
  const parsed = v.safeParse(base64UrlBytes('', { length: KEY_BYTES }), raw);
  return parsed.success ? parsed.output : null;
}

/**
 * Body of `PUT /sync/:spaceId/recovery`: the recovery device's public keys, the link box sealed
 * to its agreement key, and the seq of the recovery link statement.
 */
export const PutRecoveryKitRequest = v.object({
  signingKey: base64UrlBytes(fieldMessage.signingKey, { length: KEY_BYTES }),
  agreementKey: base64UrlBytes(fieldMessage.agreementKey, { length: KEY_BYTES }),
  box: base64UrlBytes(fieldMessage.box, { max: MAX_LINK_BOX_BYTES }),
  linkSeq: v.pipe(
    v.number(fieldMessage.linkSeq),
    v.safeInteger(fieldMessage.linkSeq),
    v.minValue(1, fieldMessage.linkSeq),
  ),
});
export type PutRecoveryKitRequest = v.InferOutput<typeof PutRecoveryKitRequest>;

/**
 * Body of `POST /api/sealed-spaces/:spaceId/recovery`: the recovery device's signing key, a
 * challenge the server issued, and the signature over the recovery message (recoveryProof.ts).
 */
export const RecoverRequest = v.object({
  signingKey: base64UrlBytes(recoveryField, { length: KEY_BYTES }),
  challenge: v.pipe(v.string(recoveryField), v.regex(CHALLENGE, recoveryField)),
  signature: base64UrlBytes(recoveryField, { length: SIGNATURE_BYTES }),
});
export type RecoverRequest = v.InferOutput<typeof RecoverRequest>;

/** The most boxes one `PUT …/epoch-boxes` takes: far more devices than a couple has. */
export const MAX_EPOCH_BOXES = 64;
/** The largest epoch box taken, in bytes (one is about 130: 32 + 24 + a 70-byte payload + 16). */
export const MAX_EPOCH_BOX_BYTES = 512;
/** The largest body of `PUT …/epoch-boxes`: 64 boxes of 512 bytes in base64url fit with room. */
export const EPOCH_BOXES_BODY_BYTES = 64 * 1024;

const epochBoxesField =
  'The new key for this space’s devices could not be sent. Please try again.' as const;

/**
 * Body of `PUT /sync/:spaceId/epoch-boxes`: the epoch a statement introduced and the boxes of its
 * key, one per device that stays, each device named once. A missing key gets the same sentence
 * (the object's message), as these fields are not among fieldMessage's.
 */
export const PutEpochBoxesRequest = v.object(
  {
    epoch: v.pipe(
      v.number(epochBoxesField),
      v.safeInteger(epochBoxesField),
      v.minValue(2, epochBoxesField),
    ),
    boxes: v.pipe(
      v.array(
        v.object(
          {
            signingKey: base64UrlBytes(epochBoxesField, { length: KEY_BYTES }),
            box: base64UrlBytes(epochBoxesField, { max: MAX_EPOCH_BOX_BYTES }),
          },
          epochBoxesField,
        ),
        epochBoxesField,
      ),
      v.minLength(1, epochBoxesField),
      v.maxLength(MAX_EPOCH_BOXES, epochBoxesField),
      v.check(
        (boxes) =>
          new Set(boxes.map((b) => Buffer.from(b.signingKey).toString('hex'))).size ===
          boxes.length,
        epochBoxesField,
      ),
    ),
  },
  epochBoxesField,
);
export type PutEpochBoxesRequest = v.InferOutput<typeof PutEpochBoxesRequest>;

/** 200 answer to `GET /sync/:spaceId/epoch-boxes`: the calling device's own boxes. */
export interface EpochBoxesResponse {
  boxes: { epoch: number; box: string }[];
}

/** 201 answer to `POST /api/sealed-spaces/:spaceId/recovery/challenge`. */
export interface RecoveryChallengeResponse {
  challenge: string;
}

/**
 * 201 answer to a recovery: the recovery device's seat and new token, the kit box, and the
 * creating device's keys (the box must name them).
 */
export interface RecoveredResponse {
  partnerId: PartnerId;
  token: string;
  box: string;
  creator: DevicePublicKeys;
}

/** One device in `GET /sync/:spaceId/devices`; times as ISO 8601, or null. */
export interface ListedDevice {
  signingKey: string;
  partnerId: PartnerId;
  addedAt: string;
  lastSeenAt: string | null;
  removedAt: string | null;
  recovery: boolean;
}

/** 200 answer to `GET /sync/:spaceId/devices`. */
export interface DeviceListResponse {
  devices: ListedDevice[];
}
