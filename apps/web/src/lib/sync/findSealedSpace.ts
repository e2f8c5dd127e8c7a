// Loaded on demand by findSpace.ts: reading the membership needs the sealed client.
import { getPartner, getSpace } from '@mend/model';
import type { SpaceId } from '@mend/protocol';
import { decodeMembership, LocalSpaceStore, openLocalCopy } from '@mend/sealed';
import * as Y from 'yjs';
import type { FoundSpace } from './findSpace.js';

/** A sealed space whose keys and copy are still on this device, with the names in its copy. */
export async function findSealedSpace(spaceId: SpaceId): Promise<FoundSpace | null> {
  const doc = new Y.Doc();
  try {
    const local = await openLocalCopy(spaceId, doc).catch(() => null);
    if (!local) return null;
    try {
      const secrets = local.loaded.secrets;
      if (secrets === null) return null;
      const { partnerId } = decodeMembership(secrets);
      // Without its seat in the copy the device could not write it again with a name: the
      // space then stays unlisted, as before.
      const me = getPartner(doc, partnerId);
      if (!me) return null;
      const name = getSpace(doc)?.name;
      return {
        spaceId,
        partnerId,
        displayName: me.displayName,
        ...(name ? { spaceName: name } : {}),
        sealed: true,
      };
    } catch {
      return null;
    } finally {
      local.store.close();
    }
  } finally {
    doc.destroy();
  }
}

/** Whether this device keeps keys it offered for sealing a space made before (its database). */
export function keepsOfferedKeys(spaceId: SpaceId): Promise<boolean> {
  return LocalSpaceStore.exists(spaceId).catch(() => false);
}
