import { CloseCode, type SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import type { Logger } from '../log.js';
import type { DocStore } from '../storage/DocStore.js';
import { ProtocolViolation } from './ProtocolViolation.js';
import type { KnownClock } from './updateValidation.js';

/**
 * Refuses an update that would take the space past its stored-bytes quota
 * (MEND_MAX_SPACE_BYTES, counted in DocStore), before anything of it is applied or stored: a
 * ProtocolViolation that closes the sender with 4507. One that brings no new structs (a
 * returning device's sync step 2 repeating deletions) still passes: it can only delete what
 * the space holds, and refusing it would lock a full space's partners out of reading it.
 */
export function refuseOverQuota(
  docStore: DocStore,
  log: Logger,
  spaceId: SpaceId,
  update: Uint8Array,
  known: KnownClock,
): void {
  if (docStore.hasRoomFor(spaceId, update.byteLength)) return;
  const { to } = Y.parseUpdateMeta(update);
  let bringsStructs = false;
  for (const [client, clock] of to) if (clock > known(client)) bringsStructs = true;
  if (!bringsStructs) return;
  log.info(
    { spaceId, storedBytes: docStore.storedBytes(spaceId), bytes: update.byteLength },
    'refused an update: the space is at its stored-bytes quota',
  );
  throw new ProtocolViolation(CloseCode.spaceFull, 'space-full', 'the space is full');
}
