import {
  EnvelopeFormatError,
  EnvelopeKind,
  decodeEnvelope,
  encodeBase64Url,
  fieldMessage,
  type Envelope,
  type SealSpaceRequest,
  type SealSpaceResponse,
  type SealedKeyResponse,
  type SpaceId,
} from '@mend/protocol';
import { hashSecret } from '../http/credentials.js';
import type { Logger } from '../log.js';
import { envelopeHash } from '../sealed/sealedInput.js';
import { chainStep, sameBytes } from '../storage/sealedChain.js';
import type { SealedEntry } from '../storage/SealedLog.js';
import {
  SealRefusal,
  type DeviceRecord,
  type PartnerRecord,
  type PlaintextSeal,
  type SpaceDirectory,
} from '../storage/StorageAdapter.js';
import { SpaceError, SpaceErrorReason } from './SpaceError.js';

interface ConversionDeps {
  directory: SpaceDirectory;
  log: Logger;
}

/**
 * Converts a plaintext space into a sealed one at a partner's request (docs/protocol.md,
 * "Converting a plaintext space"): checks what the server can of the request (plaintextSeal),
 * then storage switches the space in one transaction, or refuses (409) when the space changed
 * since the device looked.
 */
export async function sealPlaintextSpace(
  { directory, log }: ConversionDeps,
  spaceId: SpaceId,
  caller: PartnerRecord,
  input: SealSpaceRequest,
): Promise<SealSpaceResponse> {
  const seal = plaintextSeal(spaceId, caller, input);
  const result = await directory.sealPlaintextSpace(spaceId, seal, Date.now());
  if (!result.sealed) {
    log.info({ spaceId, reason: result.reason }, 'refused to seal a plaintext space');
    throw sealRefused(result.reason);
  }
  const [, genesis] = seal.envelopes;
  log.info(
    { spaceId, devices: seal.devices.length, genesisBytes: genesis.envelope.byteLength },
    'plaintext space sealed',
  );
  return { seq: 2 };
}

/**
 * What a device of a converted space needs to open it: the box of the space key the converting
 * device left for it (null for a device that has none), and the converting device's public
 * keys, which the box must name. The converting device is listed first.
 */
export async function keyBoxFor(
  { directory, log }: ConversionDeps,
  spaceId: SpaceId,
  device: DeviceRecord,
): Promise<SealedKeyResponse> {
  const [creator] = await directory.listDevices(spaceId);
  if (!creator) throw new Error('a sealed space without devices');
  const box = await directory.getKeyBox(spaceId, device.signingKey);
  log.info({ spaceId, box: box !== null }, 'key box asked for');
  return {
    box: box && encodeBase64Url(box),
    creator: {
      signingKey: encodeBase64Url(creator.signingKey),
      agreementKey: encodeBase64Url(creator.agreementKey),
    },
  };
}

/**
 * What the server checks of a seal request before it converts a plaintext space
 * (docs/protocol.md, "Converting a plaintext space", step 3): the caller's own listing, a box
 * for every other device, and the two envelopes' headers and chain. It cannot check more: the
 * payloads are sealed, and the keys are the devices' word (the safety code checks them later).
 * Storage then decides, in its transaction, whether the listing names exactly the space's
 * partners and whether a new invite belongs. Refusals are SpaceErrors (400).
 */
export function plaintextSeal(
  spaceId: SpaceId,
  caller: PartnerRecord,
  body: SealSpaceRequest,
): PlaintextSeal {
  const own = body.devices.find((d) => d.partnerId === caller.partnerId);
  if (!own) throw invalid('This device is not among the devices the request lists.');
  const signingKeys = body.devices.map((d) => d.signingKey);
  if (signingKeys.some((key, i) => signingKeys.findIndex((k) => sameBytes(k, key)) !== i)) {
    throw invalid(fieldMessage.devices);
  }
  const others = body.devices.filter((d) => d !== own);
  if (others.some((d) => d.box === undefined)) throw invalid(fieldMessage.devices);
  return {
    // The converting device first: listed first, as a sealed space's creator.
    devices: [
      { ...keysOf(own), keyBox: null },
      ...others.map((d) => ({ ...keysOf(d), keyBox: d.box ?? null })),
    ],
    envelopes: conversionEnvelopes(spaceId, own.signingKey, body.envelopes),
    invite: body.invite
      ? { inviteHash: hashSecret(body.invite.inviteCode), welcome: body.invite.welcome }
      : null,
  };
}

/**
 * The member statement and the genesis as sealed-log entries, if they are what a conversion
 * sends: envelopes of this space at epoch 1 by the converting device, the first a member
 * statement at counter 1, the second a carried envelope right after it on the same stream.
 */
export function conversionEnvelopes(
  spaceId: SpaceId,
  author: Uint8Array,
  [memberBytes, genesisBytes]: readonly [Uint8Array, Uint8Array],
): [SealedEntry, SealedEntry] {
  const member = read(memberBytes);
  const genesis = read(genesisBytes);
  for (const envelope of [member, genesis]) {
    if (envelope.spaceId !== spaceId || envelope.epoch !== 1) throw invalid(fieldMessage.envelopes);
    if (!sameBytes(envelope.author, author)) throw invalid(fieldMessage.envelopes);
  }
  if (member.kind !== EnvelopeKind.member || genesis.kind !== EnvelopeKind.carried) {
    throw invalid(fieldMessage.envelopes);
  }
  const first = entryOf(member, memberBytes);
  const second = entryOf(genesis, genesisBytes);
  const chained =
    chainStep(null, first).kind === 'append' &&
    second.stream === first.stream &&
    chainStep({ author, counter: first.counter, hash: first.hash }, second).kind === 'append';
  if (!chained) throw invalid(fieldMessage.envelopes);
  return [first, second];
}

function read(bytes: Uint8Array): Envelope {
  try {
    return decodeEnvelope(bytes);
  } catch (error) {
    if (error instanceof EnvelopeFormatError) throw invalid(fieldMessage.envelopes);
    throw error;
  }
}

function entryOf(envelope: Envelope, bytes: Uint8Array): SealedEntry {
  return {
    author: envelope.author,
    stream: envelope.stream,
    counter: envelope.counter,
    prev: envelope.prev,
    hash: envelopeHash(bytes),
    envelope: bytes,
  };
}

function keysOf(device: SealSpaceRequest['devices'][number]) {
  const { partnerId, signingKey, agreementKey } = device;
  return { partnerId, signingKey, agreementKey };
}

function invalid(message: string): SpaceError {
  return new SpaceError(SpaceErrorReason.invalid, message);
}

/** The answer to a conversion storage refused: the space changed since the device looked. */
function sealRefused(reason: SealRefusal): SpaceError {
  const messages: Record<SealRefusal, string> = {
    [SealRefusal.noSpace]: 'This space does not exist. It may have been deleted.',
    [SealRefusal.sealedAlready]: 'This space is end-to-end encrypted already.',
    [SealRefusal.partnersChanged]:
      'Someone joined or left this space just now. Mend will try again in a moment.',
    [SealRefusal.inviteMismatch]:
      'The invitation of this space changed just now. Mend will try again in a moment.',
  };
  const status =
    reason === SealRefusal.noSpace ? SpaceErrorReason.notFound : SpaceErrorReason.changed;
  return new SpaceError(status, messages[reason]);
}
