import type { PartnerId, SpaceId } from '@mend/protocol';
import { equalBytes, fromBase64Url, toBase64Url } from '../bytes.js';
import { randomBytes } from '../crypto.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { newDeviceIdentity, type DeviceIdentity } from '../identity.js';
import {
  inviteCodeFor,
  inviteSecretText,
  newInviteSecret,
  openWelcome,
  parseInviteSecret,
  sealWelcome,
} from '../invite.js';
import { newSeatSecret, type SeatSecret } from '../reveal.js';
import { newSpaceKey, SpaceKeyring } from '../SpaceKeyring.js';
import { again, post, type ApiOptions } from './http.js';

export { SealedApiError, type ApiOptions } from './http.js';

/**
 * Creating and joining a sealed space over HTTP (docs/api.md, "Sealed spaces"): everything
 * secret is made on this device, and the server receives only public keys, the invite code and
 * the sealed welcome box. Requests go through http.ts (`fetch` injectable).
 */

/** What a device holds of a sealed space once it is in. */
export interface SealedMembership {
  readonly spaceId: SpaceId;
  readonly partnerId: PartnerId;
  /** The device's credential for the sealed socket (a Bearer token; the browser uses its cookie). */
  readonly token: string;
  readonly identity: DeviceIdentity;
  readonly keyring: SpaceKeyring;
  /** The signing key of the device that created the space. */
  readonly creator: Uint8Array;
  /**
   * This partner's secret for hiding their answers until both have answered (reveal.ts). Made
   * here; a membership stored before it existed gets one when its session first opens.
   */
  readonly seatSecret: SeatSecret;
}

export interface CreatedSealedSpace extends SealedMembership {
  /** The invite secret, as it goes into the link's fragment (`#s=`). Never sent to the server. */
  readonly inviteSecret: string;
}

export async function createSealedSpace(options: ApiOptions = {}): Promise<CreatedSealedSpace> {
  const identity = newDeviceIdentity();
  const secret = newInviteSecret();
  const spaceKey = newSpaceKey();
  const welcome = sealWelcome(secret, {
    epoch: 1,
    spaceKey,
    creatorSigningKey: identity.signing.publicKey,
    creatorAgreementKey: identity.agreement.publicKey,
  });
  const answer = await post<{ spaceId: SpaceId; partnerId: PartnerId; token: string }>(
    options,
    '/api/sealed-spaces',
    {
      signingKey: toBase64Url(identity.signing.publicKey),
      agreementKey: toBase64Url(identity.agreement.publicKey),
      inviteCode: inviteCodeFor(secret),
      welcome: toBase64Url(welcome),
    },
  );
  const keyring = new SpaceKeyring(answer.spaceId);
  keyring.add(1, spaceKey);
  return {
    spaceId: answer.spaceId,
    partnerId: answer.partnerId,
    token: answer.token,
    identity,
    keyring,
    creator: identity.signing.publicKey,
    seatSecret: newSeatSecret(),
    inviteSecret: inviteSecretText(secret),
  };
}

/**
 * Joins with the invite secret from the link, in two steps (docs/protocol.md, "The welcome box
 * and joining"): first the welcome box, handed over for the invite code in exchange for a join
 * code this device chose, opened here and checked to name the same creating device the server
 * names; only then this device's keys go to the server, with the join code. A box that does not
 * open or names another creator ends the join with a SealedError before anything of this device
 * is sent. A request whose answer is lost (the network drops, the server answers 5xx) is sent
 * again as it was, a few times: the server answers the same device the same way, so a lost
 * answer does not spend the invite (docs/api.md).
 */
export async function joinSealedSpace(
  spaceId: SpaceId,
  inviteSecret: string,
  options: ApiOptions = {},
): Promise<SealedMembership> {
  const secret = parseInviteSecret(inviteSecret);
  const path = `/api/sealed-spaces/${encodeURIComponent(spaceId)}`;
  const joinCode = toBase64Url(randomBytes(JOIN_CODE_BYTES));
  const handed = await again(options, () =>
    post<{ welcome: string; creator: { signingKey: string; agreementKey: string } }>(
      options,
      `${path}/welcome`,
      { inviteCode: inviteCodeFor(secret), joinCode },
    ),
  );
  const welcome = openWelcome(secret, fromBase64Url(handed.welcome));
  if (!equalBytes(welcome.creatorSigningKey, fromBase64Url(handed.creator.signingKey, 32))) {
    throw new SealedError(
      SealedErrorReason.badKey,
      'The invite does not match the device that created this space.',
    );
  }
  // The creator's key is fixed now, before this device's keys exist anywhere but here.
  const identity = newDeviceIdentity();
  const answer = await again(options, () =>
    post<{ spaceId: SpaceId; partnerId: PartnerId; token: string }>(options, `${path}/join`, {
      inviteCode: joinCode,
      signingKey: toBase64Url(identity.signing.publicKey),
      agreementKey: toBase64Url(identity.agreement.publicKey),
    }),
  );
  const keyring = new SpaceKeyring(answer.spaceId);
  keyring.add(welcome.epoch, welcome.spaceKey);
  return {
    spaceId: answer.spaceId,
    partnerId: answer.partnerId,
    token: answer.token,
    identity,
    keyring,
    creator: welcome.creatorSigningKey,
    seatSecret: newSeatSecret(),
  };
}

/** A join code is an invite code's size: 16 random bytes, 22 characters of base64url. */
const JOIN_CODE_BYTES = 16;
