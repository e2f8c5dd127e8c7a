import { randomBytes } from 'node:crypto';
import type { PartnerId, SpaceId } from '@mend/protocol';
import { SqliteAdapter } from './storage/SqliteAdapter.js';
import type { SpaceDirectory } from './storage/StorageAdapter.js';

/** Stores a bare space (no document content) and returns its id. */
export async function createBareSpace(directory: SpaceDirectory): Promise<SpaceId> {
  const spaceId = randomBytes(16).toString('base64url') as SpaceId;
  await directory.createSpace(
    { spaceId, name: null, createdAt: Date.now(), inviteHash: randomBytes(32) },
    {
      spaceId,
      partnerId: randomBytes(16).toString('base64url') as PartnerId,
      displayName: 'Robin',
      tokenHash: randomBytes(32),
      joinedAt: Date.now(),
    },
  );
  return spaceId;
}

/**
 * A stopped server's data directory: a migrated SQLite database in `dataDir` holding one bare
 * space whose log is `update`, closed again. Returns the space's id.
 */
export async function storedSpaceInDirectory(
  dataDir: string,
  update: Uint8Array,
): Promise<SpaceId> {
  const live = SqliteAdapter.inDirectory(dataDir);
  await live.migrate();
  const spaceId = await createBareSpace(live);
  await live.appendUpdate(spaceId, update);
  await live.close();
  return spaceId;
}
