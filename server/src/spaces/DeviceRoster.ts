import { randomBytes } from 'node:crypto';
import { encodeBase64Url, type SpaceId } from '@mend/protocol';
import { hashSecret, newToken } from '../http/credentials.js';
import type {
  DeviceListResponse,
  EpochBoxesResponse,
  PutEpochBoxesRequest,
  PutRecoveryKitRequest,
  RecoverRequest,
  RecoveredResponse,
  RecoveryChallengeResponse,
} from '../http/rosterRequests.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import {
  KitOutcome,
  RemoveOutcome,
  type DeviceStore,
  type RecoveryLimit,
} from '../storage/DeviceStore.js';
import type { EpochBoxStore } from '../storage/EpochBoxStore.js';
import type { DeviceRecord, SpaceDirectory, SpaceRecord } from '../storage/StorageAdapter.js';
import { verifyRecoveryProof } from './recoveryProof.js';
import { SpaceError, SpaceErrorReason } from './SpaceError.js';

/** How long a recovery challenge can be used (docs/protocol.md, "Recovery kit"). */
export const RECOVERY_CHALLENGE_MS = 2 * 60_000;
/** Failed recoveries a space may have in an hour; past them every attempt waits (429). */
export const RECOVERY_LIMIT: RecoveryLimit = { failures: 5, windowMs: 60 * 60_000 };

export interface DeviceRosterDeps {
  devices: DeviceStore;
  epochBoxes: EpochBoxStore;
  directory: Pick<SpaceDirectory, 'listDevices'>;
  log: Logger;
  metrics: Pick<Metrics, 'deviceRoster'>;
  /** The clock challenges expire and failures age by (tests move it). */
  now: () => number;
}

type RosterEvent =
  | 'removed'
  | 'kit-stored'
  | 'challenge'
  | 'recovered'
  | 'recovery-refused'
  | 'recovery-limited'
  | 'epoch-boxes';

/** A recovery's outcome: the answer, or how many seconds until the space may try again. */
export type RecoveryAnswer =
  | { readonly recovered: true; readonly answer: RecoveredResponse }
  | { readonly recovered: false; readonly retryAfterSeconds: number };

/**
 * The devices of a sealed space beyond joining and linking (docs/protocol.md, "Removing a device",
 * "Catching up across a key change" and "Recovery kit"): their list, one device removing another,
 * the boxes of a new epoch's key left for each device, a seat's recovery kit, and a recovery with
 * it. Refusals are SpaceErrors the HTTP edge words as statuses. Log lines carry the space id and
 * the outcome, never a key, box, challenge, signature or token.
 */
export class DeviceRoster {
  readonly #deps: DeviceRosterDeps;

  constructor(deps: DeviceRosterDeps) {
    this.#deps = deps;
  }

  /** Every device of `device`'s space, removed ones too, as the server saw them. */
  async list(device: DeviceRecord): Promise<DeviceListResponse> {
    const listed = await this.#deps.devices.listDeviceDetails(device.spaceId);
    const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());
    return {
      devices: listed.map((d) => ({
        signingKey: encodeBase64Url(d.signingKey),
        partnerId: d.partnerId,
        addedAt: new Date(d.addedAt).toISOString(),
        lastSeenAt: iso(d.lastSeenAt),
        removedAt: iso(d.removedAt),
        recovery: d.recovery,
      })),
    };
  }

  /**
   * `device` removes the device `signingKey` (null: a path that names no key) of its space. Resolves
   * when it is removed, now or before (the caller then closes its sockets).
   */
  async remove(device: DeviceRecord, signingKey: Uint8Array | null): Promise<void> {
    const { devices, now } = this.#deps;
    const { spaceId } = device;
    if (!signingKey) throw unknownDevice();
    const outcome = await devices.removeDevice(spaceId, signingKey, device.signingKey, now());
    switch (outcome) {
      case RemoveOutcome.removed:
        this.#record('removed', spaceId);
        return;
      case RemoveOutcome.removedAlready:
        return;
      case RemoveOutcome.unknown:
        throw unknownDevice();
      case RemoveOutcome.self:
        throw new SpaceError(
          SpaceErrorReason.ownDevice,
          'This is the device you are using. To remove it, use “Remove Mend from this device”.',
        );
      case RemoveOutcome.notADevice:
        throw revoked();
    }
  }

  /**
   * `device` leaves the boxes of a new epoch's key for the devices that stay. Boxes for a device
   * that is no longer current are skipped, older or surplus ones ignored (EpochBoxStore).
   */
  async putEpochBoxes(device: DeviceRecord, input: PutEpochBoxesRequest): Promise<void> {
    const { spaceId } = device;
    const { epoch, boxes } = input;
    const result = await this.#deps.epochBoxes.putEpochBoxes(
      spaceId,
      device.signingKey,
      epoch,
      boxes,
    );
    if (result.outcome === 'not-a-device') throw revoked();
    const { kept, ignored, skipped } = result;
    this.#record('epoch-boxes', spaceId, { epoch, kept, ignored, skipped });
  }

  /** The boxes left for `device` itself. */
  async epochBoxes(device: DeviceRecord): Promise<EpochBoxesResponse> {
    const held = await this.#deps.epochBoxes.epochBoxesOf(device.spaceId, device.signingKey);
    return { boxes: held.map((b) => ({ epoch: b.epoch, box: encodeBase64Url(b.box) })) };
  }

  /**
   * `device` makes a recovery kit for its seat. Resolves with the signing keys of the seat's
   * earlier recovery devices it replaced (the caller closes their sockets).
   */
  async putKit(device: DeviceRecord, input: PutRecoveryKitRequest): Promise<Uint8Array[]> {
    const { devices, now } = this.#deps;
    const { spaceId } = device;
    const result = await devices.putRecoveryKit(
      spaceId,
      device.signingKey,
      // Nobody holds this token: a recovery gives the recovery device one of its own.
      { ...input, tokenHash: hashSecret(newToken()) },
      now(),
    );
    switch (result.outcome) {
      case KitOutcome.stored:
        this.#record('kit-stored', spaceId, {
          replaced: result.replaced.length,
          boxBytes: input.box.byteLength,
        });
        return [...result.replaced];
      case KitOutcome.unchanged:
        return [];
      case KitOutcome.notADevice:
        throw revoked();
      case KitOutcome.deviceTaken:
        throw new SpaceError(
          SpaceErrorReason.deviceTaken,
          'That recovery key is already a device of this space. Please make a new recovery code.',
        );
    }
  }

  /** A challenge for a recovery of `space` (no credentials), usable once for two minutes. */
  async challenge(space: SpaceRecord): Promise<RecoveryChallengeResponse> {
    const { devices, now } = this.#deps;
    if (!space.sealed) throw notSealed();
    const challenge = randomBytes(16).toString('base64url');
    const at = now();
    const issued = await devices.issueChallenge(
      space.spaceId,
      hashSecret(challenge),
      at,
      at + RECOVERY_CHALLENGE_MS,
    );
    if (!issued) throw notSealed();
    this.#record('challenge', space.spaceId);
    return { challenge };
  }

  /**
   * A recovery (no credentials): the signature is checked here, the rest in one transaction of
   * storage, which also counts the space's failures.
   */
  async recover(space: SpaceRecord, input: RecoverRequest): Promise<RecoveryAnswer> {
    const { devices, now } = this.#deps;
    const { spaceId } = space;
    const token = newToken();
    const at = now();
    const result = await devices.recover(
      spaceId,
      {
        signingKey: input.signingKey,
        challengeHash: hashSecret(input.challenge),
        signatureValid: verifyRecoveryProof(
          input.signingKey,
          spaceId,
          input.challenge,
          input.signature,
        ),
        tokenHash: hashSecret(token),
      },
      at,
      RECOVERY_LIMIT,
    );
    switch (result.outcome) {
      case 'limited':
        this.#record('recovery-limited', spaceId);
        return {
          recovered: false,
          retryAfterSeconds: Math.max(1, Math.ceil((result.retryAt - at) / 1000)),
        };
      case 'refused':
        this.#record('recovery-refused', spaceId);
        throw new SpaceError(
          SpaceErrorReason.recoveryRefused,
          'This recovery code does not open this space, or the attempt took too long. Please check the code and try again.',
        );
      case 'recovered': {
        const [creator] = await this.#deps.directory.listDevices(spaceId);
        if (!creator) throw new Error('a sealed space without devices');
        this.#record('recovered', spaceId);
        return {
          recovered: true,
          answer: {
            partnerId: result.partnerId,
            token,
            box: encodeBase64Url(result.box),
            creator: {
              signingKey: encodeBase64Url(creator.signingKey),
              agreementKey: encodeBase64Url(creator.agreementKey),
            },
          },
        };
      }
    }
  }

  #record(event: RosterEvent, spaceId: SpaceId, extra: Record<string, number> = {}): void {
    this.#deps.metrics.deviceRoster.inc({ event });
    this.#deps.log.info({ spaceId, ...extra }, `device roster: ${event}`);
  }
}

function unknownDevice(): SpaceError {
  return new SpaceError(
    SpaceErrorReason.notFound,
    'This device is not part of this space. Please reload the list of devices.',
  );
}

function revoked(): SpaceError {
  return new SpaceError(SpaceErrorReason.revoked, 'This device is no longer part of this space.');
}

function notSealed(): SpaceError {
  return new SpaceError(
    SpaceErrorReason.otherKind,
    'This space is not end-to-end encrypted, so it has no recovery code.',
  );
}
