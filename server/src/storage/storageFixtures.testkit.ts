import { randomBytes } from 'node:crypto';
import type { PartnerId, SpaceId } from '@mend/protocol';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import type {
  NewDevice,
  NewPartner,
  NewSealedSpace,
  NewSpace,
  SpaceDirectory,
  StorageAdapter,
} from './StorageAdapter.js';

/** Called before every test of a contract suite; the suite migrates what it returns. */
export type OpenAdapter = () => Promise<StorageAdapter>;

/** Called after every test of a contract suite. */
export type DisposeAdapter = (adapter: StorageAdapter) => Promise<void>;

/**
 * Inside a contract suite's `describe`: before every test, opens an adapter, migrates it and hands
 * it to `opened`; after every test, disposes of it.
 */
export function migratedAdapterPerTest(
  open: OpenAdapter,
  dispose: DisposeAdapter,
  opened: (storage: StorageAdapter) => void,
): void {
  let storage: StorageAdapter;

  beforeEach(async () => {
    storage = await open();
    await storage.migrate();
    opened(storage);
  });

  afterEach(async () => {
    await dispose(storage);
  });
}

/**
 * Inside a PostgreSQL suite's `describe`: a schema of its own for this run, so parallel runs (and
 * other engineers' tests) never meet, dropped after the suite's tests.
 */
export function schemaPerRun(url: string | undefined, prefix: string): string {
  const schema = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await admin.end();
  });
  return schema;
}

export function newSpaceId(): SpaceId {
  return randomBytes(16).toString('base64url') as SpaceId;
}

export function newSpace(): NewSpace {
  return {
    spaceId: newSpaceId(),
    name: 'Our space',
    createdAt: 1_700_000_000_000,
    inviteHash: new Uint8Array(randomBytes(32)),
  };
}

export function newPartner(spaceId: SpaceId, displayName: string): NewPartner {
  return {
    partnerId: randomBytes(16).toString('base64url') as PartnerId,
    spaceId,
    displayName,
    tokenHash: new Uint8Array(randomBytes(32)),
    joinedAt: 1_700_000_000_000,
  };
}

/** A new space with its first partner, Robin, created in `directory`. */
export async function createSpaceWithPartner(
  directory: SpaceDirectory,
): Promise<{ space: NewSpace; first: NewPartner }> {
  const space = newSpace();
  const first = newPartner(space.spaceId, 'Robin');
  await directory.createSpace(space, first);
  return { space, first };
}

export function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

export function newSealedSpace(): NewSealedSpace {
  return {
    spaceId: newSpaceId(),
    createdAt: 1_700_000_000_000,
    inviteHash: new Uint8Array(randomBytes(32)),
    welcome: new Uint8Array(randomBytes(120)),
  };
}

/** A device of a new partner seat (or of `partnerId`'s) in a sealed space. */
export function newDevice(spaceId: SpaceId, partnerId?: PartnerId): NewDevice {
  return {
    spaceId,
    partnerId: partnerId ?? (randomBytes(16).toString('base64url') as PartnerId),
    signingKey: new Uint8Array(randomBytes(32)),
    agreementKey: new Uint8Array(randomBytes(32)),
    tokenHash: new Uint8Array(randomBytes(32)),
    addedAt: 1_700_000_000_000,
  };
}

/** A new sealed space with its first device, created in `directory`. */
export async function createSealedSpaceWithDevice(
  directory: SpaceDirectory,
): Promise<{ space: NewSealedSpace; first: NewDevice }> {
  const space = newSealedSpace();
  const first = newDevice(space.spaceId);
  await directory.createSealedSpace(space, first);
  return { space, first };
}

/**
 * A new sealed space with Alex's device and Sam's, each its own seat, created in `storage`. Sam's
 * is added at `samAddedAt`: later than Alex's, every engine lists them in that order.
 */
export async function createSealedSpaceWithTwoSeats(
  storage: StorageAdapter,
  samAddedAt = 1_700_000_000_000,
): Promise<{ spaceId: SpaceId; alex: NewDevice; sam: NewDevice }> {
  const { space, first: alex } = await createSealedSpaceWithDevice(storage);
  const sam = { ...newDevice(space.spaceId), addedAt: samAddedAt };
  expect(await storage.addSealedPartner(space.spaceId, sam, samAddedAt)).toBe('added');
  return { spaceId: space.spaceId, alex, sam };
}
