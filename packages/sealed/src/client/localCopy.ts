import type { SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import { SealedError, SealedErrorReason } from '../errors.js';
import { LocalSpaceStore, type LoadedSpace } from '../local/LocalSpaceStore.js';
import { REMOTE, STORED } from './origins.js';

/**
 * A sealed space's copy on this device, read into a document before any key is used: opening
 * it needs IndexedDB, Yjs and WebCrypto (the secrets are sealed at rest), not the signing and
 * encryption code, so a screen can show the space while that code is still on its way.
 * `SealedSession.open({ local })` takes it from there.
 */
export interface LocalCopy {
  readonly store: LocalSpaceStore;
  readonly loaded: LoadedSpace;
  /**
   * What was written to the document since it was read, merged, and stops collecting: the
   * session seals it first (`ProviderOptions.unsent`), so a change made while the sync code was
   * loading is not left out of the space. Null when nothing was written.
   */
  takeUnsent(): Uint8Array | null;
}

/**
 * Reads the stored copy of `spaceId` into `doc` (origin STORED, so it is never sealed again).
 * Rejects with a LocalStoreError when the store cannot be read, or a SealedError `noSecrets`
 * when this device holds no membership of the space (and then creates no database).
 */
export async function openLocalCopy(
  spaceId: SpaceId,
  doc: Y.Doc,
  options: { indexedDB?: IDBFactory } = {},
): Promise<LocalCopy> {
  // Opening creates the database: a device that never joined must not be left with an empty one.
  if (!(await LocalSpaceStore.exists(spaceId, options))) throw noSecrets();
  const store = await LocalSpaceStore.open(spaceId, options);
  try {
    const loaded = await store.load();
    if (loaded.secrets === null) throw noSecrets();
    if (loaded.docState !== null) Y.applyUpdate(doc, loaded.docState, STORED);
    const unsent: Uint8Array[] = [];
    const collect = (update: Uint8Array, origin: unknown) => {
      if (origin !== STORED && origin !== REMOTE) unsent.push(update);
    };
    doc.on('update', collect);
    return {
      store,
      loaded,
      takeUnsent: () => {
        doc.off('update', collect);
        return unsent.length === 0 ? null : Y.mergeUpdates(unsent.splice(0));
      },
    };
  } catch (error) {
    store.close();
    throw error;
  }
}

export function noSecrets(): SealedError {
  return new SealedError(
    SealedErrorReason.noSecrets,
    'This device holds no keys for this space. Open the invite link again, or open the space on the device that created it.',
  );
}
