import { CloseCode, type SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { MemoryAdapter } from '../storage/MemoryAdapter.js';
import {
  itemOverGc,
  mutualOrigins,
  pastSafeClocks,
  repeatedClient,
  selfOrigin,
  selfParent,
} from '@mend/model/testing';
import type { RoomDeps } from './Room.js';
import { flush, roomTestbed, syncUpdateMessage, type TestClient } from './roomHarness.testkit.js';

const testbed = roomTestbed();

async function setup(overrides: Partial<RoomDeps> = {}) {
  const { storage, spaceId, room, client: newClient } = await testbed.setup({ overrides });
  const client = (): TestClient => {
    const c = newClient();
    c.connect();
    return c;
  };
  const attacker = client();
  const partner = client();
  await flush([room], [attacker, partner]);
  return { storage, spaceId, room, attacker, partner, client };
}

/** The stored space loads in a fresh document, cleanly. */
async function loadsCleanly(storage: MemoryAdapter, spaceId: SpaceId) {
  const stored = await storage.loadDoc(spaceId);
  const parts = [
    ...(stored.snapshot ? [stored.snapshot] : []),
    ...stored.updates.map((u) => u.data),
  ];
  const fresh = new Y.Doc();
  if (parts.length > 0) Y.applyUpdate(fresh, Y.mergeUpdates(parts));
  expect(fresh.store.pendingStructs).toBeNull();
  expect(fresh.store.pendingDs).toBeNull();
  return fresh;
}

describe('a room facing updates crafted to break Yjs', () => {
  it.each([
    ['an item that names itself as its origin', [selfOrigin(7)]],
    ['an item that names itself as its parent', [selfParent(7)]],
    ['two items that name each other as origin', [mutualOrigins(7, 8)]],
    ['a client repeated in two groups', [repeatedClient(7)]],
    ['clocks past 2^53 with a delete set that rounds into the next item', [pastSafeClocks(7)]],
  ])(
    'closes only the sender of %s with 4400; the partner keeps editing and the space stays loadable',
    async (_name, updates) => {
      const { room, storage, spaceId, attacker, partner } = await setup();
      for (const update of updates) attacker.sendRaw(syncUpdateMessage(update));
      await room.whenIdle();
      expect(attacker.socket.closedWith).toBe(CloseCode.badMessage);
      partner.doc.getText('t').insert(0, 'still here');
      await flush([room], [partner]);
      expect(partner.socket.closedWith).toBeNull();
      expect(room.isOpen).toBe(true);
      expect((await loadsCleanly(storage, spaceId)).getText('t').toString()).toBe('still here');
    },
  );

  it('asks again, closing nobody, for an item whose known half sits on a garbage-collected struct', async () => {
    const { room, storage, spaceId, attacker, partner } = await setup();
    const [gc, item] = itemOverGc(7);
    attacker.sendRaw(syncUpdateMessage(gc));
    attacker.sendRaw(syncUpdateMessage(item));
    await room.whenIdle();
    partner.doc.getText('t').insert(0, 'still here');
    await flush([room], [partner]);
    expect(partner.socket.closedWith).toBeNull();
    expect(room.isOpen).toBe(true);
    expect((await loadsCleanly(storage, spaceId)).getText('t').toString()).toBe('still here');
  });

  it('when Yjs throws anyway, closes only the sender, rebuilds the document from storage and keeps the others', async () => {
    // Let everything through, so Yjs itself meets the crafted update.
    const { room, storage, spaceId, attacker, partner, client } = await setup({
      checkUpdate: () => {},
    });
    partner.doc.getText('t').insert(0, 'before ');
    await flush([room], [partner]);
    attacker.sendRaw(syncUpdateMessage(selfOrigin(7)));
    // Sent while the document is being rebuilt: held back, then applied in order.
    partner.doc.getText('t').insert(7, 'after');
    partner.pump();
    await room.whenIdle();
    expect(attacker.socket.closedWith).toBe(CloseCode.badMessage);
    await flush([room], [partner]);
    expect(partner.socket.closedWith).toBeNull();
    expect(room.isOpen).toBe(true);
    expect(room.doc.getText('t').toString()).toBe('before after');
    expect((await loadsCleanly(storage, spaceId)).getText('t').toString()).toBe('before after');
    const late = client();
    await flush([room], [late, partner]);
    expect(late.doc.getText('t').toString()).toBe('before after');
  });
});
