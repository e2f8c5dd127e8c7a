import type { SpaceId } from '@mend/protocol';
import { checkAccess } from '../access.js';
import type { RememberedSpace } from './DeviceSpaces.svelte.js';

export type FoundSpace = Omit<RememberedSpace, 'addedAt'>;

/**
 * A space this browser's list forgot (its site data partly cleared, say) while the device still
 * belongs to it: a sealed space's keys are still in its IndexedDB database, or a plaintext
 * space's cookie still works. Returns what to remember again, or null. The names come from the
 * document on this device, never from the server (it has none of a sealed space).
 */
export async function findForgottenSpace(spaceId: SpaceId): Promise<FoundSpace | null> {
  const { findSealedSpace, keepsOfferedKeys } = await import('./findSealedSpace.js');
  const sealed = await findSealedSpace(spaceId);
  if (sealed) return sealed;
  const access = await checkAccess(spaceId);
  if (access.kind !== 'allowed') return null;
  // A sealed space whose keys are gone cannot be opened here, whatever the cookie says; unless it
  // was sealed from the partner's device while this one still held it in plaintext: it then has
  // the keys it offered, and moves over once opened (plainSealing.ts).
  if (access.sealed && !(await keepsOfferedKeys(spaceId))) return null;
  const { namesOnThisDevice } = await import('./plainSync.js');
  const names = await namesOnThisDevice(spaceId, access.partnerId);
  return { spaceId, partnerId: access.partnerId, ...names };
}
