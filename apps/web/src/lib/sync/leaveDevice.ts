import type { SpaceId } from '@mend/protocol';
import { DEVICE_SPACES_KEY, deviceSpaces } from './DeviceSpaces.svelte.js';

/**
 * "Remove Mend from this device": the server stops accepting this device, then every trace of
 * the space leaves the browser. The names of what is cleared live here, beside the code that
 * writes them: IndexedDB (`mend-sealed-<id>`, a sealed space's keys and copy; `mend-space-<id>`,
 * a plaintext space's copy), localStorage and sessionStorage keys naming the space (drafts,
 * pending counts, roles, the invite secret in `mend:spaces`), and any cached response that
 * names it (the service worker caches only the app shell, which names no space).
 */

/** What the server said to `DELETE /sync/<id>`. */
export type Revocation =
  /** The server revoked this device's token and expired its cookie. */
  | 'revoked'
  /** The server no longer knows this device here (revoked before, or the space was deleted). */
  | 'already-gone'
  /** No answer: offline, or the server could not be reached. */
  | 'unreachable'
  /** The server answered something else (a refusal, or a problem on its side). */
  | 'failed';

/** Asks the server to revoke this device's credential for the space (its cookie goes with it). */
export async function revokeThisDevice(spaceId: SpaceId): Promise<Revocation> {
  let response: Response;
  try {
    response = await fetch(`/sync/${encodeURIComponent(spaceId)}`, {
      method: 'DELETE',
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    return 'unreachable';
  }
  if (response.status === 204) return 'revoked';
  if (response.status === 401 || response.status === 404) return 'already-gone';
  return 'failed';
}

/** The IndexedDB databases a space may have on this device. */
export function spaceDatabases(spaceId: SpaceId): string[] {
  return [`mend-sealed-${spaceId}`, `mend-space-${spaceId}`];
}

/**
 * Deletes everything of the space this browser holds. Call it once the space's connection is
 * destroyed (an open database would hold its deletion until it closes). The cookie is HttpOnly:
 * only the server's answer to the DELETE expires it.
 */
export async function clearSpaceFromDevice(spaceId: SpaceId): Promise<void> {
  await Promise.all(spaceDatabases(spaceId).map(deleteDatabase));
  await clearCaches(spaceId);
  for (const storage of browserStorages()) clearKeys(storage, spaceId);
  deviceSpaces.forget(spaceId);
}

function deleteDatabase(name: string): Promise<void> {
  if (typeof indexedDB === 'undefined') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error ?? new Error(`could not delete ${name}`));
    // `blocked` is only a notice: the deletion completes once the last connection closes.
  });
}

async function clearCaches(spaceId: SpaceId): Promise<void> {
  if (typeof caches === 'undefined') return;
  for (const name of await caches.keys()) {
    if (name.includes(spaceId)) {
      await caches.delete(name);
      continue;
    }
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      if (request.url.includes(spaceId)) await cache.delete(request);
    }
  }
}

function browserStorages(): Storage[] {
  const found: Storage[] = [];
  if (typeof localStorage !== 'undefined') found.push(localStorage);
  if (typeof sessionStorage !== 'undefined') found.push(sessionStorage);
  return found;
}

/** Removes every key that names the space; the list of spaces is rewritten by its owner. */
function clearKeys(storage: Storage, spaceId: SpaceId): void {
  const keys: string[] = [];
  for (let i = 0; i < storage.length; i += 1) {
    const key = storage.key(i);
    if (key !== null && key !== DEVICE_SPACES_KEY && key.includes(spaceId)) keys.push(key);
  }
  for (const key of keys) storage.removeItem(key);
}
