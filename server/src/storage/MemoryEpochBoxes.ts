import type { SpaceId } from '@mend/protocol';
import {
  byEpochThenWriter,
  epochBoxPlan,
  type EpochBox,
  type EpochBoxFor,
  type EpochBoxStore,
  type PutEpochBoxesResult,
} from './EpochBoxStore.js';
import { sameBytes } from './sealedChain.js';
import type { DeviceRecord } from './StorageAdapter.js';

/** One stored box: its epoch, the device that wrote it, and the box. */
export interface MemoryEpochBox {
  readonly epoch: number;
  readonly writer: Uint8Array;
  readonly box: Uint8Array;
}

/** What MemoryAdapter keeps of a sealed space that these operations read and change. */
export interface MemoryEpochBoxSpace {
  readonly devices: DeviceRecord[];
  readonly revoked: Set<unknown>;
  /** The boxes kept for each device; a revoked device's go with its revocation. */
  readonly epochBoxes: Map<DeviceRecord, MemoryEpochBox[]>;
}

/**
 * EpochBoxStore in MemoryAdapter's maps. Each method runs without awaiting, so it is as atomic as
 * a transaction; bytes are copied in and out.
 */
export class MemoryEpochBoxes implements EpochBoxStore {
  readonly #space: (spaceId: SpaceId) => MemoryEpochBoxSpace | null;

  /** `space`: the sealed space's entry, or null for an unknown or plaintext one. */
  constructor(space: (spaceId: SpaceId) => MemoryEpochBoxSpace | null) {
    this.#space = space;
  }

  async putEpochBoxes(
    spaceId: SpaceId,
    by: Uint8Array,
    epoch: number,
    boxes: readonly EpochBoxFor[],
  ): Promise<PutEpochBoxesResult> {
    const space = this.#space(spaceId);
    const current = (signingKey: Uint8Array) =>
      space?.devices.find((d) => !space.revoked.has(d) && sameBytes(d.signingKey, signingKey));
    if (!space || !current(by)) return { outcome: 'not-a-device' };
    const plan = epochBoxPlan(
      boxes,
      epoch,
      by,
      (signingKey) => current(signingKey) !== undefined,
      (signingKey) => {
        const device = current(signingKey);
        return (device && space.epochBoxes.get(device)) ?? [];
      },
    );
    for (const { signingKey, box } of plan.write) {
      const device = current(signingKey);
      if (!device) continue;
      const kept = (space.epochBoxes.get(device) ?? []).filter(
        (held) => held.epoch > epoch || (held.epoch === epoch && !sameBytes(held.writer, by)),
      );
      kept.push({ epoch, writer: copy(by), box: copy(box) });
      space.epochBoxes.set(device, kept);
    }
    return plan.result;
  }

  async epochBoxesOf(spaceId: SpaceId, signingKey: Uint8Array): Promise<EpochBox[]> {
    const space = this.#space(spaceId);
    const device = space?.devices.find((d) => sameBytes(d.signingKey, signingKey));
    const held = (device && space?.epochBoxes.get(device)) ?? [];
    return [...held].sort(byEpochThenWriter).map((h) => ({ epoch: h.epoch, box: copy(h.box) }));
  }
}

function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
