import { getSpace, listPartners, SCHEMA_VERSION } from '@mend/model';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { hashSecret, newPartnerId, newToken } from '../http/credentials.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import { roomDeps, storedDoc } from '../sync/roomHarness.testkit.js';
import { Rooms, documentRooms } from '../sync/Rooms.js';
import { SpaceError, SpaceErrorReason } from './SpaceError.js';
import { Spaces } from './Spaces.js';

const open: Rooms[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((rooms) => rooms.closeAll()));
});

function setup(storage = new MemoryAdapter()) {
  const rooms = new Rooms(documentRooms(roomDeps(storage).deps), 1000);
  open.push(rooms);
  return {
    storage,
    rooms,
    spaces: new Spaces({ directory: storage, rooms, log: pino({ level: 'silent' }) }),
  };
}

async function refusal(work: Promise<unknown>): Promise<SpaceError> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SpaceError);
  return error as SpaceError;
}

describe('a space', () => {
  it('is created with its first partner in the directory and in the document', async () => {
    const { storage, spaces } = setup();
    const created = await spaces.create({ displayName: 'Robin', name: 'Us' });
    expect((await storage.getSpace(created.spaceId))?.name).toBe('Us');
    expect((await storage.listPartners(created.spaceId)).map((p) => p.partnerId)).toEqual([
      created.partnerId,
    ]);
    const doc = await storedDoc(storage, created.spaceId);
    expect(getSpace(doc)?.name).toBe('Us');
    expect(listPartners(doc).map((p) => p.displayName)).toEqual(['Robin']);
  });

  it('that does not exist, or whose id is malformed, is not found', async () => {
    const { spaces } = setup();
    expect((await refusal(spaces.find('missing_space_id_01'))).reason).toBe(
      SpaceErrorReason.notFound,
    );
    expect((await refusal(spaces.find('not/an/id'))).reason).toBe(SpaceErrorReason.notFound);
  });

  it('refuses a wrong invite code and stores nobody', async () => {
    const { storage, spaces } = setup();
    const created = await spaces.create({ displayName: 'Robin' });
    const space = await spaces.find(created.spaceId);
    const error = await refusal(spaces.join(space, { inviteCode: 'wrong', displayName: 'Sam' }));
    expect(error.reason).toBe(SpaceErrorReason.wrongInvite);
    expect(await storage.listPartners(created.spaceId)).toHaveLength(1);
  });

  it('takes its second partner once, into the directory and the document, then is full', async () => {
    const { storage, spaces } = setup();
    const created = await spaces.create({ displayName: 'Robin' });
    const input = { inviteCode: created.inviteCode, displayName: 'Sam' };
    const joined = await spaces.join(await spaces.find(created.spaceId), input);
    expect(joined.spaceId).toBe(created.spaceId);
    expect(await storage.listPartners(created.spaceId)).toHaveLength(2);
    const names = listPartners(await storedDoc(storage, created.spaceId)).map((p) => p.displayName);
    expect(names.sort()).toEqual(['Robin', 'Sam']);

    const again = await refusal(spaces.join(await spaces.find(created.spaceId), input));
    expect(again.reason).toBe(SpaceErrorReason.full);
    expect(await storage.listPartners(created.spaceId)).toHaveLength(2);
  });

  it('is brought up to date for a partner stored but missing from its document, and the check is recorded', async () => {
    const { storage, rooms, spaces } = setup();
    const created = await spaces.create({ displayName: 'Robin' });
    // What a join leaves behind when storing the partner worked but the document write did not.
    const sam = {
      partnerId: newPartnerId(),
      spaceId: created.spaceId,
      displayName: 'Sam',
      tokenHash: hashSecret(newToken()),
      joinedAt: 1_700_000_000_000,
    };
    await storage.addPartner(created.spaceId, sam, sam.joinedAt);

    await rooms.with(created.spaceId, (room) => spaces.prepare(room, sam));
    const names = listPartners(await storedDoc(storage, created.spaceId)).map((p) => p.displayName);
    expect(names.sort()).toEqual(['Robin', 'Sam']);
    expect(await storage.getDocCheck(created.spaceId, sam.partnerId)).toBe(SCHEMA_VERSION);
  });
});
