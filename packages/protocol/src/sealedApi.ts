import { ID_PATTERN, MAX_PARTNERS } from '@mend/model';
import { fromBase64UrlEncoded, toBase64UrlEncoded } from 'lib0/buffer';
import * as v from 'valibot';
import { fieldMessage } from './api.js';
import type { LinkId, PartnerId, SpaceId } from './ids.js';
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

/**
 * The largest link box a confirm may carry (docs/protocol.md, "Linking a device"): every epoch's
 * key takes about 40 bytes and the rest about 96, so 8 KiB holds some 200 epochs.
 */
export const MAX_LINK_BOX_BYTES = 8192;

/** Link and claim codes are 16 bytes (HKDF output or random), base64url: 22 characters. */
const LinkCode = v.pipe(
  v.string(fieldMessage.linkCode),
  v.regex(INVITE_CODE, fieldMessage.linkCode),
);
const ClaimCode = v.pipe(
  v.string(fieldMessage.claimCode),
  v.regex(INVITE_CODE, fieldMessage.claimCode),
);

/**
 * Body of `POST /api/sealed-spaces/:spaceId/links` (the offer): the code the existing device
 * derived from the link secret, `base64url(HKDF(L, "mend/v1/link-code", 16 bytes))`.
 */
export const OfferLinkRequest = v.object({ linkCode: LinkCode });
export type OfferLinkRequest = v.InferOutput<typeof OfferLinkRequest>;

/** 201 answer to an offer. */
export interface OfferLinkResponse {
  linkId: LinkId;
}

/**
 * Body of `POST /api/sealed-spaces/:spaceId/links/claim`: the new device's claim of a link, sent
 * again unchanged until the link is confirmed (then it collects) or its answer arrives.
 */
export const ClaimLinkRequest = v.object({
  linkCode: LinkCode,
  claimCode: ClaimCode,
  signingKey: SigningKey,
  agreementKey: AgreementKey,
});
export type ClaimLinkRequest = v.InferOutput<typeof ClaimLinkRequest>;
/** A claim as a device writes it: keys in base64url. */
export type ClaimLinkRequestBody = v.InferInput<typeof ClaimLinkRequest>;

/** 202 answer to a claim before the existing device confirmed it. */
export interface LinkClaimedResponse {
  linkId: LinkId;
  state: 'claimed';
}

/**
 * 201 answer to a claim once the link is confirmed (the collect): the new device's token, the
 * link box sealed to its agreement key, the creating device's keys (the box must name them) and
 * the seq of the link statement, which its replica must hold before it writes its member
 * statement.
 */
export interface LinkCollectedResponse {
  spaceId: SpaceId;
  partnerId: PartnerId;
  token: string;
  box: string;
  creator: DevicePublicKeys;
  linkSeq: number;
}

export type ClaimLinkResponse = LinkClaimedResponse | LinkCollectedResponse;

/** Where a link stands: offered, claimed by a device, confirmed by the seat, or ended. */
export const LinkState = {
  open: 'open',
  claimed: 'claimed',
  confirmed: 'confirmed',
  ended: 'ended',
} as const;
export type LinkState = (typeof LinkState)[keyof typeof LinkState];

/**
 * 200 answer to `GET /api/sealed-spaces/:spaceId/links/:linkId`: the link's state and, once a
 * device claimed it, that device's public keys (the link check is computed from them).
 */
export interface LinkStatusResponse {
  state: LinkState;
  device?: DevicePublicKeys;
}

/**
 * Body of `POST /api/sealed-spaces/:spaceId/links/:linkId/confirm`: the link box (`boxSeal` to the
 * new device's agreement key of every epoch's key, the creator's signing key and the seat
 * secret) and the seq at which the server stored the link statement.
 */
export const ConfirmLinkRequest = v.object({
  box: base64UrlBytes(fieldMessage.box, { max: MAX_LINK_BOX_BYTES }),
  linkSeq: v.pipe(
    v.number(fieldMessage.linkSeq),
    v.safeInteger(fieldMessage.linkSeq),
    v.minValue(1, fieldMessage.linkSeq),
  ),
});
export type ConfirmLinkRequest = v.InferOutput<typeof ConfirmLinkRequest>;
/** A confirm as a device writes it: the box in base64url. */
export type ConfirmLinkRequestBody = v.InferInput<typeof ConfirmLinkRequest>;

/** base64url without padding, as the sealed routes write keys and boxes. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return toBase64UrlEncoded(bytes);
}
