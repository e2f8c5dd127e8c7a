import type { PartnerId, SpaceId } from '@mend/protocol';
import { sameBytes } from './sealedChain.js';

/**
 * The devices of a sealed space as issue 13 sees them (docs/protocol.md, "Removing a device" and
 * "Recovery kit"): their list with what the server saw of each, one device removing another,
 * and the seat's recovery device with its kit box, challenges and recovery. Every adapter
 * passes the same contract suite (`deviceStoreContract.testkit.ts`); the decisions are written
 * once, below (`removeStep`, `kitStep`, `recoveryStep`), and each adapter reads, decides and
 * writes inside one transaction, so two server processes never both win.
 *
 * Times are the caller's (`at`). Only SHA-256 hashes of challenges and tokens are kept; the kit
 * box is ciphertext the server cannot open.
 */
export interface DeviceStore {
  /** Every device of a sealed space, removed ones too, in the order listDevices gives. */
  listDeviceDetails(spaceId: SpaceId): Promise<DeviceDetails[]>;
  /**
   * Records that a sealed socket of the device authenticated at `at` (once per connection).
   * An unknown device is ignored.
   */
  markSeen(spaceId: SpaceId, signingKey: Uint8Array, at: number): Promise<void>;
  /**
   * `by` removes the device `signingKey` of the same space: its row is marked revoked at `at`
   * (its token finds nothing, as after revokeDevice), with who removed it, and a recovery
   * device's kit box and the device's epoch boxes go. `removedAlready` for a device revoked before (nothing changes);
   * refused, changing nothing: `notADevice` when `by` is not a current device of the sealed
   * space, `unknown` for no device with that key, `self` for `by` itself.
   */
  removeDevice(
    spaceId: SpaceId,
    signingKey: Uint8Array,
    by: Uint8Array,
    at: number,
  ): Promise<RemoveOutcome>;
  /**
   * `by` (a current device) makes a recovery kit for its seat: in one transaction the recovery
   * device joins the seat, flagged `recovery`, with `kit.tokenHash` (a token nobody holds) and
   * the box, and the seat's earlier current recovery devices are revoked (listed in `replaced`,
   * so their sockets can be closed; their epoch boxes go). The same kit again (same keys, box and linkSeq, its device
   * still current) answers `unchanged`. Refused, changing nothing: `notADevice` as for removal,
   * `deviceTaken` when the kit's signing key is any other device of the space (removed ones too).
   */
  putRecoveryKit(
    spaceId: SpaceId,
    by: Uint8Array,
    kit: RecoveryKit,
    at: number,
  ): Promise<KitResult>;
  /**
   * Stores a challenge (its SHA-256) of a sealed space that can be used once until `expiresAt`,
   * and deletes the space's expired ones. False, storing nothing, for an unknown or plaintext
   * space.
   */
  issueChallenge(
    spaceId: SpaceId,
    challengeHash: Uint8Array,
    at: number,
    expiresAt: number,
  ): Promise<boolean>;
  /**
   * One recovery attempt, in one transaction: refused as `limited` (changing nothing) while the
   * space has `limit.failures` failed attempts within `limit.windowMs` before `at`; otherwise the
   * challenge is used up whatever follows, and when it was live, the signature valid and
   * `attempt.signingKey` a current recovery device of the space, that device's token hash
   * becomes `attempt.tokenHash` (the token of an earlier recovery stops) and its seat and box
   * come back. Any other attempt is `refused` and counted as a failure of the space.
   */
  recover(
    spaceId: SpaceId,
    attempt: RecoveryAttempt,
    at: number,
    limit: RecoveryLimit,
  ): Promise<RecoveryResult>;
}

/** A device as the list of a space shows it. */
export interface DeviceDetails {
  readonly partnerId: PartnerId;
  readonly signingKey: Uint8Array;
  readonly addedAt: number;
  /** When a sealed socket of it last authenticated; null if never (or before this was kept). */
  readonly lastSeenAt: number | null;
  /** When it left or was removed; null while current. */
  readonly removedAt: number | null;
  /** The seat's recovery device (docs/protocol.md, "Recovery kit"). */
  readonly recovery: boolean;
}

export const RemoveOutcome = {
  removed: 'removed',
  removedAlready: 'removed-already',
  notADevice: 'not-a-device',
  unknown: 'unknown',
  self: 'self',
} as const;
export type RemoveOutcome = (typeof RemoveOutcome)[keyof typeof RemoveOutcome];

export interface RecoveryKit {
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
  /** The link box sealed to the recovery agreement key. */
  readonly box: Uint8Array;
  /** The seq of the recovery link statement. */
  readonly linkSeq: number;
  /** SHA-256 of a token nobody holds. */
  readonly tokenHash: Uint8Array;
}

export const KitOutcome = {
  stored: 'stored',
  unchanged: 'unchanged',
  notADevice: 'not-a-device',
  deviceTaken: 'device-taken',
} as const;
export type KitOutcome = (typeof KitOutcome)[keyof typeof KitOutcome];

export type KitResult =
  | { readonly outcome: typeof KitOutcome.stored; readonly replaced: readonly Uint8Array[] }
  | {
      readonly outcome:
        typeof KitOutcome.unchanged | typeof KitOutcome.notADevice | typeof KitOutcome.deviceTaken;
    };

export interface RecoveryAttempt {
  readonly signingKey: Uint8Array;
  readonly challengeHash: Uint8Array;
  /** Whether the signature over the challenge verified (checked before, by the caller). */
  readonly signatureValid: boolean;
  /** SHA-256 of the recovery device's new token. */
  readonly tokenHash: Uint8Array;
}

/** Failed attempts a space may have within a window before every attempt is refused. */
export interface RecoveryLimit {
  readonly failures: number;
  readonly windowMs: number;
}

export type RecoveryResult =
  | { readonly outcome: 'recovered'; readonly partnerId: PartnerId; readonly box: Uint8Array }
  | { readonly outcome: 'refused' }
  /** `retryAt`: when the oldest counted failure leaves the window. */
  | { readonly outcome: 'limited'; readonly retryAt: number };

/** A device row as every adapter reads it for these decisions. */
export interface StoredDevice {
  readonly partnerId: PartnerId;
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
  readonly revoked: boolean;
  readonly recovery: boolean;
  readonly box: Uint8Array | null;
  readonly linkSeq: number | null;
}

/**
 * What a removal does (`devices`: the space's devices, null for a space that is not sealed):
 * `revoke` when the target's row is to be marked.
 */
export function removeStep(
  devices: readonly StoredDevice[] | null,
  signingKey: Uint8Array,
  by: Uint8Array,
): { outcome: RemoveOutcome; revoke: boolean } {
  if (!currentDevice(devices, by)) return { outcome: RemoveOutcome.notADevice, revoke: false };
  if (sameBytes(signingKey, by)) return { outcome: RemoveOutcome.self, revoke: false };
  const target = devices?.find((d) => sameBytes(d.signingKey, signingKey));
  if (!target) return { outcome: RemoveOutcome.unknown, revoke: false };
  return target.revoked
    ? { outcome: RemoveOutcome.removedAlready, revoke: false }
    : { outcome: RemoveOutcome.removed, revoke: true };
}

/**
 * What a kit does (`devices` as for removeStep): `store` with the seat (the caller's) and the
 * signing keys of the seat's current recovery devices, which it revokes.
 */
export function kitStep(
  devices: readonly StoredDevice[] | null,
  by: Uint8Array,
  kit: RecoveryKit,
):
  | { result: KitResult; store: null }
  | { result: KitResult; store: { partnerId: PartnerId; replaced: Uint8Array[] } } {
  const caller = currentDevice(devices, by);
  if (!devices || !caller) return { result: { outcome: KitOutcome.notADevice }, store: null };
  const existing = devices.find((d) => sameBytes(d.signingKey, kit.signingKey));
  if (existing) {
    const same =
      existing.recovery &&
      !existing.revoked &&
      existing.partnerId === caller.partnerId &&
      sameBytes(existing.agreementKey, kit.agreementKey) &&
      existing.box !== null &&
      sameBytes(existing.box, kit.box) &&
      existing.linkSeq === kit.linkSeq;
    return {
      result: { outcome: same ? KitOutcome.unchanged : KitOutcome.deviceTaken },
      store: null,
    };
  }
  const replaced = devices
    .filter((d) => d.recovery && !d.revoked && d.partnerId === caller.partnerId)
    .map((d) => d.signingKey);
  return {
    result: { outcome: KitOutcome.stored, replaced },
    store: { partnerId: caller.partnerId, replaced },
  };
}

/**
 * Whether an attempt recovers: the challenge was live (`challengeLive`), the signature valid,
 * and `device` (the space's device with the attempt's key, or null) a current recovery device
 * with its box.
 */
export function recoveryStep(
  device: StoredDevice | null,
  attempt: RecoveryAttempt,
  challengeLive: boolean,
): { partnerId: PartnerId; box: Uint8Array } | null {
  if (!challengeLive || !attempt.signatureValid) return null;
  if (!device || !device.recovery || device.revoked || device.box === null) return null;
  return { partnerId: device.partnerId, box: device.box };
}

/**
 * Whether the space may try now, given the times of its failures still in the window: null if
 * so, else when it may try again.
 */
export function limitedUntil(
  failures: readonly number[],
  at: number,
  limit: RecoveryLimit,
): number | null {
  const counted = failures.filter((t) => t > at - limit.windowMs);
  if (counted.length < limit.failures) return null;
  return Math.min(...counted) + limit.windowMs;
}

function currentDevice(
  devices: readonly StoredDevice[] | null,
  signingKey: Uint8Array,
): StoredDevice | null {
  return devices?.find((d) => !d.revoked && sameBytes(d.signingKey, signingKey)) ?? null;
}
