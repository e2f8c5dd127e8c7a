import type { SpaceId } from '@mend/protocol';
import {
  KitOutcome,
  limitedUntil,
  recoveryStep,
  kitStep,
  removeStep,
  type DeviceDetails,
  type DeviceStore,
  type KitResult,
  type RecoveryAttempt,
  type RecoveryKit,
  type RecoveryLimit,
  type RecoveryResult,
  type RemoveOutcome,
  type StoredDevice,
} from './DeviceStore.js';
import { sameBytes } from './sealedChain.js';
import type { DeviceRecord } from './StorageAdapter.js';

/** What MemoryAdapter keeps of a device beyond its record (issue 13). */
export interface MemoryDeviceMeta {
  lastSeenAt: number | null;
  removedAt: number | null;
  removedBy: Uint8Array | null;
  recovery: boolean;
  box: Uint8Array | null;
  linkSeq: number | null;
}

/** What MemoryAdapter keeps of a sealed space that these operations read and change. */
export interface MemoryDeviceSpace {
  readonly devices: DeviceRecord[];
  readonly revoked: Set<unknown>;
  readonly deviceMeta: Map<DeviceRecord, MemoryDeviceMeta>;
  /** Live and expired challenges (hash and expiry); pruned at each new one. */
  challenges: { hash: Uint8Array; expiresAt: number }[];
  /** The times of failed recovery attempts; pruned at each attempt. */
  recoveryFailures: number[];
  /** The epoch boxes kept for each device (MemoryEpochBoxes): a revocation deletes them. */
  readonly epochBoxes: Map<DeviceRecord, unknown>;
}

/**
 * DeviceStore in MemoryAdapter's maps. Each method runs without awaiting, so it is as atomic as
 * a transaction; bytes are copied in and out.
 */
export class MemoryDevices implements DeviceStore {
  readonly #space: (spaceId: SpaceId) => MemoryDeviceSpace | null;

  /** `space`: the sealed space's entry, or null for an unknown or plaintext one. */
  constructor(space: (spaceId: SpaceId) => MemoryDeviceSpace | null) {
    this.#space = space;
  }

  async listDeviceDetails(spaceId: SpaceId): Promise<DeviceDetails[]> {
    const space = this.#space(spaceId);
    if (!space) return [];
    return space.devices.map((d) => {
      const meta = metaOf(space, d);
      return {
        partnerId: d.partnerId,
        signingKey: copy(d.signingKey),
        addedAt: d.addedAt,
        lastSeenAt: meta.lastSeenAt,
        removedAt: space.revoked.has(d) ? (meta.removedAt ?? d.addedAt) : null,
        recovery: meta.recovery,
      };
    });
  }

  async markSeen(spaceId: SpaceId, signingKey: Uint8Array, at: number): Promise<void> {
    const space = this.#space(spaceId);
    const device = space?.devices.find((d) => sameBytes(d.signingKey, signingKey));
    if (space && device) metaOf(space, device).lastSeenAt = at;
  }

  async removeDevice(
    spaceId: SpaceId,
    signingKey: Uint8Array,
    by: Uint8Array,
    at: number,
  ): Promise<RemoveOutcome> {
    const space = this.#space(spaceId);
    const step = removeStep(space && stored(space), signingKey, by);
    const target = space?.devices.find((d) => sameBytes(d.signingKey, signingKey));
    if (step.revoke && space && target) revoke(space, target, by, at);
    return step.outcome;
  }

  async putRecoveryKit(
    spaceId: SpaceId,
    by: Uint8Array,
    kit: RecoveryKit,
    at: number,
  ): Promise<KitResult> {
    const space = this.#space(spaceId);
    const step = kitStep(space && stored(space), by, kit);
    if (!space || !step.store) return step.result;
    for (const replaced of step.store.replaced) {
      const device = space.devices.find((d) => sameBytes(d.signingKey, replaced));
      if (device) revoke(space, device, by, at);
    }
    const device: DeviceRecord = {
      spaceId,
      partnerId: step.store.partnerId,
      signingKey: copy(kit.signingKey),
      agreementKey: copy(kit.agreementKey),
      tokenHash: copy(kit.tokenHash),
      addedAt: at,
    };
    space.devices.push(device);
    space.deviceMeta.set(device, {
      ...emptyMeta(),
      recovery: true,
      box: copy(kit.box),
      linkSeq: kit.linkSeq,
    });
    return { outcome: KitOutcome.stored, replaced: step.store.replaced.map(copy) };
  }

  async issueChallenge(
    spaceId: SpaceId,
    challengeHash: Uint8Array,
    at: number,
    expiresAt: number,
  ): Promise<boolean> {
    const space = this.#space(spaceId);
    if (!space) return false;
    space.challenges = space.challenges.filter((c) => c.expiresAt > at);
    space.challenges.push({ hash: copy(challengeHash), expiresAt });
    return true;
  }

  async recover(
    spaceId: SpaceId,
    attempt: RecoveryAttempt,
    at: number,
    limit: RecoveryLimit,
  ): Promise<RecoveryResult> {
    const space = this.#space(spaceId);
    if (!space) return { outcome: 'refused' };
    space.recoveryFailures = space.recoveryFailures.filter((t) => t > at - limit.windowMs);
    const retryAt = limitedUntil(space.recoveryFailures, at, limit);
    if (retryAt !== null) return { outcome: 'limited', retryAt };
    const challenge = space.challenges.find((c) => sameBytes(c.hash, attempt.challengeHash));
    space.challenges = space.challenges.filter((c) => c !== challenge && c.expiresAt > at);
    const device = space.devices.find((d) => sameBytes(d.signingKey, attempt.signingKey));
    const live = challenge !== undefined && challenge.expiresAt > at;
    const recovered = recoveryStep(device ? storedDevice(space, device) : null, attempt, live);
    if (!recovered || !device) {
      space.recoveryFailures.push(at);
      return { outcome: 'refused' };
    }
    device.tokenHash = copy(attempt.tokenHash);
    return { outcome: 'recovered', partnerId: recovered.partnerId, box: copy(recovered.box) };
  }
}

function emptyMeta(): MemoryDeviceMeta {
  return {
    lastSeenAt: null,
    removedAt: null,
    removedBy: null,
    recovery: false,
    box: null,
    linkSeq: null,
  };
}

/** The device's metadata, made on first use (devices added before issue 13 have none). */
function metaOf(space: MemoryDeviceSpace, device: DeviceRecord): MemoryDeviceMeta {
  let meta = space.deviceMeta.get(device);
  if (!meta) {
    meta = emptyMeta();
    space.deviceMeta.set(device, meta);
  }
  return meta;
}

function revoke(space: MemoryDeviceSpace, device: DeviceRecord, by: Uint8Array, at: number): void {
  space.revoked.add(device);
  space.epochBoxes.delete(device);
  const meta = metaOf(space, device);
  meta.removedAt = at;
  meta.removedBy = copy(by);
  meta.box = null;
}

function stored(space: MemoryDeviceSpace): StoredDevice[] {
  return space.devices.map((d) => storedDevice(space, d));
}

function storedDevice(space: MemoryDeviceSpace, device: DeviceRecord): StoredDevice {
  const meta = space.deviceMeta.get(device);
  return {
    partnerId: device.partnerId,
    signingKey: device.signingKey,
    agreementKey: device.agreementKey,
    revoked: space.revoked.has(device),
    recovery: meta?.recovery ?? false,
    box: meta?.box ?? null,
    linkSeq: meta?.linkSeq ?? null,
  };
}

function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
