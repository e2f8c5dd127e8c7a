import { isSpaceId, KEY_BYTES, type SpaceId } from '@mend/protocol';
import { equalBytes, fromBase64Url, toBase64Url } from './bytes.js';
import { hkdf, randomBytes } from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import { isRecord } from './stored.js';

/** The keys one epoch's space key gives (docs/protocol.md, "Keys"). */
export interface EpochKeys {
  readonly epoch: number;
  readonly spaceKey: Uint8Array;
  /** Seals updates, snapshots and member statements. */
  readonly content: Uint8Array;
  /** Seals presence. */
  readonly presence: Uint8Array;
}

export interface StoredKeyring {
  readonly v: 1;
  readonly spaceId: string;
  readonly epochs: readonly { readonly epoch: number; readonly spaceKey: string }[];
}

export function newSpaceKey(): Uint8Array {
  return randomBytes(KEY_BYTES);
}

/** A space's keys, one per epoch (1, 2, …), with the keys derived from each. */
export class SpaceKeyring {
  readonly #epochs = new Map<number, EpochKeys>();

  constructor(readonly spaceId: SpaceId) {
    // The id goes into every key's HKDF info, so it must be one an envelope can carry.
    if (!isSpaceId(spaceId)) throw new SealedError(SealedErrorReason.malformed, 'Not a space id.');
  }

  /** Adds an epoch's key; adding the same key again is harmless, a different one is refused. */
  add(epoch: number, spaceKey: Uint8Array): EpochKeys {
    if (!Number.isSafeInteger(epoch) || epoch < 1) {
      throw new SealedError(SealedErrorReason.malformed, 'Key epochs are whole numbers from 1.');
    }
    if (spaceKey.length !== KEY_BYTES) {
      throw new SealedError(SealedErrorReason.badKey, 'A space key is 32 bytes.');
    }
    const known = this.#epochs.get(epoch);
    if (known) {
      if (equalBytes(known.spaceKey, spaceKey)) return known;
      throw new SealedError(SealedErrorReason.badKey, `Epoch ${epoch} already has another key.`);
    }
    const keys: EpochKeys = {
      epoch,
      spaceKey: spaceKey.slice(),
      content: hkdf(spaceKey, `mend/v1/content/${this.spaceId}/${epoch}`, KEY_BYTES),
      presence: hkdf(spaceKey, `mend/v1/presence/${this.spaceId}/${epoch}`, KEY_BYTES),
    };
    this.#epochs.set(epoch, keys);
    return keys;
  }

  get(epoch: number): EpochKeys | undefined {
    return this.#epochs.get(epoch);
  }

  /** The newest epoch held: the one new envelopes are sealed with. */
  get latest(): EpochKeys | undefined {
    let latest: EpochKeys | undefined;
    for (const keys of this.#epochs.values())
      if (!latest || keys.epoch > latest.epoch) latest = keys;
    return latest;
  }

  toStored(): StoredKeyring {
    return {
      v: 1,
      spaceId: this.spaceId,
      epochs: [...this.#epochs.values()].map((k) => ({
        epoch: k.epoch,
        spaceKey: toBase64Url(k.spaceKey),
      })),
    };
  }

  static restore(stored: unknown): SpaceKeyring {
    if (
      !isRecord(stored) ||
      stored['v'] !== 1 ||
      typeof stored['spaceId'] !== 'string' ||
      !Array.isArray(stored['epochs'])
    ) {
      throw new SealedError(SealedErrorReason.malformed, 'The stored space keys are not readable.');
    }
    const keyring = new SpaceKeyring(stored['spaceId'] as SpaceId);
    for (const entry of stored['epochs'] as unknown[]) {
      if (
        !isRecord(entry) ||
        typeof entry['epoch'] !== 'number' ||
        typeof entry['spaceKey'] !== 'string'
      ) {
        throw new SealedError(SealedErrorReason.malformed, 'The stored space keys are incomplete.');
      }
      keyring.add(entry['epoch'], fromBase64Url(entry['spaceKey'], KEY_BYTES));
    }
    return keyring;
  }
}
