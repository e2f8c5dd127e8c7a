import { setDisplayName, writeNewSpace, type PartnerId } from '@mend/model';
import type { SpaceId } from '@mend/protocol';
import {
  newDeviceIdentity,
  newSeatSecret,
  newSpaceKey,
  openLocalCopy,
  SealedSession,
  SpaceKeyring,
} from '@mend/sealed';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { memoryStorage } from './memoryStorage.js';
import { SpaceConnection } from './SpaceConnection.svelte.js';
import { freshSpaceId as freshId, until } from './testing.svelte.js';

const partnerId = 'partner_alex_000000' as PartnerId;
const freshSpaceId = () => freshId('sealed_test');

/** This device's keys for a new sealed space, kept as create does (no server needed). */
async function keptMembership(spaceId: SpaceId, seatSecret = newSeatSecret()): Promise<void> {
  const identity = newDeviceIdentity();
  const keyring = new SpaceKeyring(spaceId);
  keyring.add(1, newSpaceKey());
  await SealedSession.saveMembership({
    spaceId,
    partnerId,
    token: 't'.repeat(43),
    identity,
    keyring,
    creator: identity.signing.publicKey,
    seatSecret,
  });
}

function open(spaceId: SpaceId): SpaceConnection {
  return new SpaceConnection({
    spaceId,
    partnerId,
    displayName: 'Alex',
    connect: false,
    storage: memoryStorage(),
    sealed: true,
  });
}

describe('a sealed space on this device', () => {
  it('opens from its local copy with no socket, and keeps what is written for the next load', async () => {
    const spaceId = freshSpaceId();
    await keptMembership(spaceId);
    const first = open(spaceId);
    await until(() => first.loaded && first.isCreator);
    expect(first.keysMissing).toBe(false);
    writeNewSpace(first.doc, { name: 'Ours', createdAt: 1, partnerId, displayName: 'Alex' });
    setDisplayName(first.doc, { partnerId, displayName: 'Alexandra' });
    await until(() => first.savedOnDevice);
    // Three changes outside any field's edit session: the space, the seat, the new name.
    expect(first.status).toEqual({ kind: 'offline', waiting: 3 });
    first.destroy();

    // What the next page load reads before any sync code runs.
    const doc = new Y.Doc();
    const local = await openLocalCopy(spaceId, doc);
    local.store.close();
    expect(doc.getMap('partners').toJSON()[partnerId]?.displayName).toBe('Alexandra');
  });

  it('says so when this device holds no keys for the space', async () => {
    const connection = open(freshSpaceId());
    await until(() => connection.keysMissing);
    expect(connection.loaded).toBe(true);
    expect(connection.seatSecret).toBeNull();
    connection.destroy();
  });

  it("holds this partner's seat secret once the sealed client has loaded, for private check-ins", async () => {
    const spaceId = freshSpaceId();
    const seat = newSeatSecret();
    await keptMembership(spaceId, seat);
    const connection = open(spaceId);
    expect(connection.seatSecret).toBeNull();
    await until(() => connection.seatSecret !== null);
    expect(connection.seatSecret).toEqual(seat);
    expect(connection.reveals).not.toBeNull();
    connection.destroy();
  });
});
