import type { SpaceId } from '@mend/protocol';
import { clearSpaceFromDevice } from './leaveDevice.js';

/**
 * A sealed space's device the server no longer accepts because its token was revoked: it left
 * on another tab, or another device removed it (a lost phone; docs/protocol.md, "Removing a
 * device and new epochs"). Its copy, keys and list entry go at once, without asking: a removed
 * device may be in a stranger's hands. Nothing is lost for the couple: the space lives on the
 * devices still in it, and what this device had not sent could not be taken in any more (the
 * others set aside what a removed device writes).
 */
export async function clearRemovedDevice(
  spaceId: SpaceId,
  connection: { destroy(): unknown },
): Promise<void> {
  try {
    await connection.destroy();
    await clearSpaceFromDevice(spaceId);
  } finally {
    // A page load, not a client-side move: nothing of the space stays in this page's memory.
    location.replace('/removed');
  }
}
