// Loaded on demand (SealedSession's `held.load`): only a page that writes while not connected,
// or finds changes an earlier page held, needs it.
import type { SpaceId } from '@mend/protocol';
import type { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import type { HeldChanges } from './heldChanges.js';
import { webLocks, type PageLocks } from './pageLocks.js';
import type { SessionWrites } from './SessionWrites.js';

/**
 * Held changes in a session's store, written in line with its other writes. A page owns the
 * streams whose lock (`mend-sealed/<spaceId>/<stream>`) it holds: its own while it lives, and an
 * earlier page's once that page is gone (its lock let go), so one page only ever seals a stream.
 * `letGo` releases them (after the session's writes are done). `locks` undefined: the browser's
 * Web Locks. Without locks (null, or none: Node, an old browser) nothing new is held, and changes
 * an earlier page held are sealed.
 */
export function storedHeld(options: {
  spaceId: SpaceId;
  store: LocalSpaceStore;
  writes: SessionWrites;
  locks: PageLocks | null | undefined;
  earlier: ReadonlyMap<number, readonly Uint8Array[]>;
}): HeldChanges & { letGo(): void } {
  const { store, writes, earlier } = options;
  const locks = options.locks === undefined ? webLocks() : options.locks;
  const releases: (() => void)[] = [];
  let gone = false;
  return {
    earlier,
    own: async (stream) => {
      if (locks === null) return earlier.has(stream);
      const release = await locks.take(`mend-sealed/${options.spaceId}/${stream}`);
      if (release === null) return false;
      if (gone) {
        release();
        return false;
      }
      releases.push(release);
      return true;
    },
    hold: (stream, update) =>
      writes.inLine(() => store.saveHeldChange(stream, update).then(() => true), true),
    seal: (stream, count, entries, settled) =>
      writes.inLine(() => store.sealHeld(stream, count, entries), false, settled),
    letGo: () => {
      gone = true;
      for (const release of releases.splice(0)) release();
    },
  };
}
