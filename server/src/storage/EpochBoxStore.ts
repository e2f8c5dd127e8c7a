import type { SpaceId } from '@mend/protocol';
import { sameBytes } from './sealedChain.js';

/**
 * The boxes of a new epoch's space key that the writer of an epoch statement leaves with the
 * server, so that a device which missed the statement (compacted into a snapshot under the new
 * epoch) can still fetch its key (docs/protocol.md, "Catching up across a key change"). Every
 * adapter passes the same contract suite (`epochBoxContract.testkit.ts`); which box stays is
 * decided once, below (`epochBoxStep`), and each adapter reads, decides and writes inside one
 * transaction per request.
 *
 * The boxes are ciphertext sealed to a device's agreement key: the server cannot open them and
 * they are no source of trust (a device takes a key only if the signed statement agrees). What
 * the server learns is which devices were given a new key, by which device, and when.
 */
export interface EpochBoxStore {
  /**
   * `by`, a current device of the sealed space, leaves `boxes` of `epoch`, in one transaction.
   * A box for a device that is not a current device of the space is skipped. For every other
   * device the highest epoch wins: a box of an epoch below the device's highest stored one is
   * ignored; one above deletes the device's boxes of lower epochs; within one epoch a device
   * keeps at most MAX_EPOCH_BOX_WRITERS boxes from different writers, the same writer replacing
   * its own and a further writer ignored. `notADevice`, changing nothing, when `by` is not a
   * current device of the sealed space (or the space is unknown or plaintext).
   */
  putEpochBoxes(
    spaceId: SpaceId,
    by: Uint8Array,
    epoch: number,
    boxes: readonly EpochBoxFor[],
  ): Promise<PutEpochBoxesResult>;
  /**
   * The boxes kept for the device `signingKey` of the space, by epoch, then by writer (bytewise);
   * empty for a device with none, a removed device, or an unknown one.
   */
  epochBoxesOf(spaceId: SpaceId, signingKey: Uint8Array): Promise<EpochBox[]>;
}

/** The most writers whose boxes of one epoch a device keeps (two devices racing leave both). */
export const MAX_EPOCH_BOX_WRITERS = 4;

/** One box in a request: the device it is sealed to, and the box. */
export interface EpochBoxFor {
  readonly signingKey: Uint8Array;
  readonly box: Uint8Array;
}

/** One box as the device it is sealed to fetches it. */
export interface EpochBox {
  readonly epoch: number;
  readonly box: Uint8Array;
}

/** What a device's stored boxes say for the decision: their epoch and writer. */
export interface HeldEpochBox {
  readonly epoch: number;
  readonly writer: Uint8Array;
}

export type PutEpochBoxesResult =
  | {
      readonly outcome: 'stored';
      /** Boxes stored, or replacing the same writer's of that epoch. */
      readonly kept: number;
      /** Boxes of an epoch below the device's highest, or past the writers' cap. */
      readonly ignored: number;
      /** Boxes for a device that is not a current device of the space. */
      readonly skipped: number;
    }
  | { readonly outcome: 'not-a-device' };

/**
 * Whether a box of `epoch` by `writer` is kept, given the boxes the device holds (`held`). When
 * kept, the adapter deletes the device's boxes of lower epochs and the writer's own of this epoch,
 * then stores it.
 */
export function epochBoxStep(
  held: readonly HeldEpochBox[],
  epoch: number,
  writer: Uint8Array,
): 'keep' | 'ignore' {
  const highest = held.reduce((max, h) => Math.max(max, h.epoch), 0);
  if (epoch < highest) return 'ignore';
  if (epoch > highest) return 'keep';
  if (held.some((h) => h.epoch === epoch && sameBytes(h.writer, writer))) return 'keep';
  const writers = held.filter((h) => h.epoch === epoch).length;
  return writers < MAX_EPOCH_BOX_WRITERS ? 'keep' : 'ignore';
}

/**
 * Runs a request's boxes through epochBoxStep in order, against the boxes held by each device
 * (`held`, by device, as read inside the transaction), and tells the adapter which to write.
 * `current`: whether a device is a current device of the space. A request names each device
 * once (the edge refuses a device named twice).
 */
export function epochBoxPlan(
  boxes: readonly EpochBoxFor[],
  epoch: number,
  writer: Uint8Array,
  current: (signingKey: Uint8Array) => boolean,
  held: (signingKey: Uint8Array) => readonly HeldEpochBox[],
): { write: EpochBoxFor[]; result: PutEpochBoxesResult & { outcome: 'stored' } } {
  const write: EpochBoxFor[] = [];
  let ignored = 0;
  let skipped = 0;
  for (const box of boxes) {
    if (!current(box.signingKey)) skipped++;
    else if (epochBoxStep(held(box.signingKey), epoch, writer) === 'keep') write.push(box);
    else ignored++;
  }
  return { write, result: { outcome: 'stored', kept: write.length, ignored, skipped } };
}

/** Orders boxes by epoch, then by writer bytewise, as every engine lists them. */
export function byEpochThenWriter(
  a: { epoch: number; writer: Uint8Array },
  b: { epoch: number; writer: Uint8Array },
): number {
  return a.epoch - b.epoch || Buffer.compare(a.writer, b.writer);
}
