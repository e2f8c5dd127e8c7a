import { randomBytes } from 'node:crypto';
import type { PartnerId, SpaceId } from '@mend/protocol';
import type { NewPartner, NewSpace, StorageAdapter } from './StorageAdapter.js';

/** Called before every test of a contract suite; the suite migrates what it returns. */
export type OpenAdapter = () => Promise<StorageAdapter>;

/** Called after every test of a contract suite. */
export type DisposeAdapter = (adapter: StorageAdapter) => Promise<void>;

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

export function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}
