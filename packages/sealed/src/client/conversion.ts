import { checkUpdateShape } from '@mend/model';
import { EnvelopeKind, type PartnerId, type SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import { equalBytes, fromBase64Url, toBase64Url } from '../bytes.js';
import { sealSoon, type SealedEnvelope, type SealInput } from '../envelopes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import type { DeviceIdentity } from '../identity.js';
import {
  inviteCodeFor,
  inviteSecretText,
  openKeyBox,
  sealKeyBox,
  sealWelcome,
  type WelcomePayload,
} from '../invite.js';
import { encodeMemberPayload } from '../payloads.js';
import { newSeatSecret } from '../reveal.js';
import { SpaceKeyring } from '../SpaceKeyring.js';
import { conversionPlan, type ConversionPlan } from './conversionPlan.js';
import { again, get, post, SealedApiError, type ApiOptions } from './http.js';
import type { SealedMembership } from './sealedSpaces.js';
import type { PendingSeal } from './sealingRecord.js';
import { COOKIE_TOKEN } from './cookieToken.js';
import {
  dropPending,
  loadPending,
  pendingSeal,
  type LoggedEnvelope,
  type SealingStoreOptions,
} from './sealingStore.js';

export { carryOver } from './carryOver.js';
export {
  conversionPlan,
  sealingOffer,
  type ConversionPlan,
  type SealingDevice,
} from './conversionPlan.js';
export {
  adoptPlaintextCopy,
  carryMore,
  forgetSealingIdentity,
  loadOrMakeSealingIdentity,
  type AdoptInput,
  type LoggedEnvelope,
  type SealingStoreOptions,
} from './sealingStore.js';

/*
 * Converting a plaintext space into a sealed one, on the device (docs/protocol.md, "Converting a
 * plaintext space"): each device keeps keys for the space and offers their public halves in the
 * document; the first device that sees every partner's offer seals the space; the others fetch
 * their box and carry over what they wrote meanwhile. The server gets public keys, boxes and
 * envelopes only.
 */

export { COOKIE_TOKEN };

export type ConversionOptions = ApiOptions & SealingStoreOptions;

export interface SealSpaceInput {
  readonly spaceId: SpaceId;
  /** This device's partner. */
  readonly partnerId: PartnerId;
  /** From `loadOrMakeSealingIdentity`, offered in `doc`. */
  readonly identity: DeviceIdentity;
  /**
   * The space's plaintext document, synced with the server (what it holds becomes the genesis;
   * a change the server had and this copy lacked would reach the sealed space only from a
   * device that still has it, judged as that device's partner's).
   */
  readonly doc: Y.Doc;
  /** The space's partners still in it, as for `conversionPlan`. */
  readonly partners: readonly PartnerId[];
  /** The plaintext Bearer token (Node); omitted in the browser, where the cookie goes along. */
  readonly token?: string | null;
  /** Send a new sealed invite (the space has one partner and an unused invite). */
  readonly withInvite: boolean;
}

export type SealResult =
  | {
      readonly kind: 'sealed';
      /** Give it to `adoptPlaintextCopy` (with `log`). */
      readonly membership: SealedMembership;
      /**
       * The member statement and the genesis at seq 1 and 2, so the device starts its replica
       * there; null when an earlier attempt's answer was lost (the envelopes that landed may be
       * another attempt's: the session downloads them).
       */
      readonly log: readonly LoggedEnvelope[] | null;
      /** The new invite's secret for the link (`#s=`), when `withInvite`. */
      readonly inviteSecret: string | null;
    }
  /** Another device sealed the space first: go on with `receiveSealedKey`. */
  | { readonly kind: 'sealed-by-other' }
  /** `conversionPlan` does not say convert (yet); nothing was sent. */
  | {
      readonly kind: 'not-ready';
      readonly plan: Exclude<ConversionPlan, { readonly kind: 'convert' }>;
    };

/**
 * Seals the plaintext space (`POST /sync/:spaceId/seal`): the epoch-1 space key, a stream, the
 * member statement (counter 1) and the genesis (a carried envelope, counter 2, holding the whole
 * document), the space key boxed to every other partner's offered device, and a new sealed
 * invite when `withInvite`. The space key, stream, seat secret and invite secret are stored
 * (the sealing record) before anything is sent and reused by every later attempt, so whichever
 * attempt lands, this device holds its key: a lost answer is asked again, and a 409 that names
 * this device as the creator is the conversion landing (`log` then null). Rejects with a
 * SealedApiError for any other refusal (409: the listed devices are not the space's partners),
 * a SealedError when the document cannot be the genesis or an offered key cannot receive a box,
 * a LocalStoreError when the sealing record cannot be kept.
 */
export async function sealPlaintextSpace(
  input: SealSpaceInput,
  options: ConversionOptions = {},
): Promise<SealResult> {
  const plan = conversionPlan(input.doc, input.partners, input);
  if (plan.kind !== 'convert') return { kind: 'not-ready', plan };
  const genesis = Y.encodeStateAsUpdate(input.doc);
  const readable = checkUpdateShape(genesis, () => 0);
  if (!readable.ok) {
    throw new SealedError(
      SealedErrorReason.malformed,
      `This device’s copy of the space is incomplete and cannot start the sealed space (${readable.detail}).`,
    );
  }
  const pending = await pendingSeal(input, options);
  if (pending === null) {
    throw new SealedError(
      SealedErrorReason.noSecrets,
      'The keys this device offered for sealing the space are no longer on it.',
    );
  }
  const keyring = new SpaceKeyring(input.spaceId);
  keyring.add(1, pending.spaceKey);
  const { identity } = input;
  const member = await signed({
    identity,
    keyring,
    kind: EnvelopeKind.member,
    stream: pending.stream,
    counter: 1,
    payload: encodeMemberPayload({
      partnerId: input.partnerId,
      agreementKey: identity.agreement.publicKey,
    }),
  });
  const carried = await signed({
    identity,
    keyring,
    kind: EnvelopeKind.carried,
    stream: pending.stream,
    counter: 2,
    prev: member.hash,
    payload: genesis,
  });
  const welcome: WelcomePayload = {
    epoch: 1,
    spaceKey: pending.spaceKey,
    creatorSigningKey: identity.signing.publicKey,
    creatorAgreementKey: identity.agreement.publicKey,
  };
  const body = {
    devices: plan.devices.map((d) => ({
      partnerId: d.partnerId,
      signingKey: toBase64Url(d.signingKey),
      agreementKey: toBase64Url(d.agreementKey),
      ...(equalBytes(d.signingKey, identity.signing.publicKey)
        ? {}
        : { box: toBase64Url(sealKeyBox(d.agreementKey, welcome)) }),
    })),
    envelopes: [toBase64Url(member.bytes), toBase64Url(carried.bytes)],
    ...(input.withInvite
      ? {
          invite: {
            inviteCode: inviteCodeFor(pending.inviteSecret),
            welcome: toBase64Url(sealWelcome(pending.inviteSecret, welcome)),
          },
        }
      : {}),
  };
  const sealed = (log: readonly LoggedEnvelope[] | null): SealResult => ({
    kind: 'sealed',
    membership: membershipOf(input, pending, identity.signing.publicKey, pending.seatSecret),
    log,
    inviteSecret: input.withInvite ? inviteSecretText(pending.inviteSecret) : null,
  });
  const path = `/sync/${encodeURIComponent(input.spaceId)}/seal`;
  let answer: { seq?: unknown };
  try {
    answer = await again(options, () =>
      post<{ seq?: unknown }>(options, path, body, input.token ?? null),
    );
  } catch (error) {
    if (!(error instanceof SealedApiError) || error.status !== 409) throw error;
    const key = await fetchKey(input, options);
    if (key === null) throw error;
    if (equalBytes(key.creator.signingKey, identity.signing.publicKey)) return sealed(null);
    await dropPending(input.spaceId, options);
    return { kind: 'sealed-by-other' };
  }
  const seq = answer?.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 2) {
    throw new SealedApiError(200, 'The server’s answer to sealing the space cannot be read.');
  }
  return sealed([
    { seq: seq - 1, bytes: member.bytes },
    { seq, bytes: carried.bytes },
  ]);
}

export interface ReceiveInput {
  readonly spaceId: SpaceId;
  readonly partnerId: PartnerId;
  /** From `loadOrMakeSealingIdentity`: the device the box was sealed to. */
  readonly identity: DeviceIdentity;
  /** The plaintext Bearer token (Node); omitted in the browser, where the cookie goes along. */
  readonly token?: string | null;
}

/**
 * This device's membership of a space another device sealed (`GET /sync/:spaceId/key`): the box
 * opened with the device's agreement key, and checked to name the same creating device the
 * server names. Null while the space is not sealed (409). On the device that sealed it (the
 * server names it as the creator) the key comes from its sealing record: a page that died
 * before `adoptPlaintextCopy` finishes that way. The seat secret is new (made here; the one
 * `adoptPlaintextCopy` stores first is kept). Rejects with a SealedError when the box does not
 * open with this device's key (`badCiphertext`: it was sealed for another device of this
 * partner), names another creator (`badKey`), or the creating device lost its key (`noSecrets`).
 */
export async function receiveSealedKey(
  input: ReceiveInput,
  options: ConversionOptions = {},
): Promise<SealedMembership | null> {
  const key = await fetchKey(input, options);
  if (key === null) return null;
  const { identity } = input;
  if (equalBytes(key.creator.signingKey, identity.signing.publicKey)) {
    const pending = await loadPending(input.spaceId, options);
    if (pending === null || pending.partnerId !== input.partnerId) {
      throw new SealedError(
        SealedErrorReason.noSecrets,
        'This device sealed the space, but the key it sealed it with is no longer on it.',
      );
    }
    return membershipOf(input, pending, identity.signing.publicKey, pending.seatSecret);
  }
  const welcome = key.box === null ? null : openKeyBox(identity, key.box);
  if (welcome === null) {
    throw new SealedError(
      SealedErrorReason.badCiphertext,
      'The space’s key was sealed for another device. Open the space on the device that offered its keys.',
    );
  }
  if (
    !equalBytes(welcome.creatorSigningKey, key.creator.signingKey) ||
    !equalBytes(welcome.creatorAgreementKey, key.creator.agreementKey)
  ) {
    throw new SealedError(
      SealedErrorReason.badKey,
      'The space’s key does not come from the device the server says sealed it.',
    );
  }
  const keyring = new SpaceKeyring(input.spaceId);
  keyring.add(welcome.epoch, welcome.spaceKey);
  return {
    spaceId: input.spaceId,
    partnerId: input.partnerId,
    token: input.token ?? COOKIE_TOKEN,
    identity,
    keyring,
    creator: welcome.creatorSigningKey,
    seatSecret: newSeatSecret(),
  };
}

// ---- helpers

function membershipOf(
  input: {
    spaceId: SpaceId;
    partnerId: PartnerId;
    identity: DeviceIdentity;
    token?: string | null;
  },
  pending: PendingSeal,
  creator: Uint8Array,
  seatSecret: PendingSeal['seatSecret'],
): SealedMembership {
  const keyring = new SpaceKeyring(input.spaceId);
  keyring.add(1, pending.spaceKey);
  return {
    spaceId: input.spaceId,
    partnerId: input.partnerId,
    token: input.token ?? COOKIE_TOKEN,
    identity: input.identity,
    keyring,
    creator,
    seatSecret,
  };
}

interface KeyAnswer {
  readonly box: Uint8Array | null;
  readonly creator: { readonly signingKey: Uint8Array; readonly agreementKey: Uint8Array };
}

/** `GET /sync/:spaceId/key`, read strictly; null when the space is not sealed (409). */
async function fetchKey(
  input: { spaceId: SpaceId; token?: string | null },
  options: ApiOptions,
): Promise<KeyAnswer | null> {
  const path = `/sync/${encodeURIComponent(input.spaceId)}/key`;
  let answer: unknown;
  try {
    answer = await again(options, () => get<unknown>(options, path, input.token ?? null));
  } catch (error) {
    if (error instanceof SealedApiError && error.status === 409) return null;
    throw error;
  }
  try {
    const { box, creator } = answer as { box: unknown; creator: Record<string, unknown> };
    if (box !== null && typeof box !== 'string') throw new TypeError('box');
    return {
      box: box === null ? null : fromBase64Url(box),
      creator: {
        signingKey: fromBase64Url(creator['signingKey'] as string, 32),
        agreementKey: fromBase64Url(creator['agreementKey'] as string, 32),
      },
    };
  } catch {
    throw new SealedApiError(200, 'The server’s answer with the space’s key cannot be read.');
  }
}

/** `sealEnvelope`, signed by the platform's Ed25519 where it can (`sealSoon`). */
function signed(input: SealInput): Promise<SealedEnvelope> {
  return new Promise((resolve) => sealSoon(input, resolve));
}
