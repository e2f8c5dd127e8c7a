import { Writable } from 'node:stream';
import { CloseCode, MessageType } from '@mend/protocol';
import * as encoding from 'lib0/encoding';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import type { Logger } from '../log.js';
import { MemoryPubSub, MemoryPubSubHub } from '../pubsub/MemoryPubSub.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import { createBareSpace } from '../testSpaces.testkit.js';
import { encodeAwareness, type AwarenessEntry } from './awareness.js';
import { Room } from './Room.js';
import {
  TestClient,
  flush,
  rejectedFor,
  roomDeps,
  roomTestbed,
  storedDoc,
} from './roomHarness.testkit.js';

// Room.test.ts covers the room's protocol; this file covers what a stranger cannot abuse:
// the stored-bytes quota, bounded presence, and bad input counted rather than shouted.

const { clients, rooms, setup } = roomTestbed();

// After-hooks run in reverse order of registration: this one runs before roomTestbed's.
afterEach(() => {
  vi.restoreAllMocks();
});

function awarenessFrame(entries: AwarenessEntry[]): Uint8Array {
  return awarenessBytes(encodeAwareness(entries));
}

function awarenessBytes(payload: Uint8Array | number[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.awareness);
  encoding.writeVarUint8Array(encoder, Uint8Array.from(payload));
  return encoding.toUint8Array(encoder);
}

/** A pino logger at debug whose JSON lines land in `lines`. */
function capturedLog(): { log: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

describe('a space at its stored-bytes quota', () => {
  it('refuses an update past the quota with 4507, stores nothing of it, and keeps serving reads', async () => {
    const { room, client, storage, spaceId, metrics } = await setup({ maxSpaceBytes: 2_000 });
    const writer = client();
    const partner = client();
    writer.connect();
    partner.connect();
    await flush([room], [writer, partner]);
    writer.doc.getText('t').insert(0, 'what we wrote first');
    await flush([room], [writer, partner]);
    writer.doc.getText('t').insert(0, 'x'.repeat(3_000));
    await flush([room], [writer, partner]);

    expect(writer.socket.closedWith).toBe(CloseCode.spaceFull);
    expect(await rejectedFor(metrics, 'space-full')).toBe(1);
    expect((await storedDoc(storage, spaceId)).getText('t').toString()).toBe('what we wrote first');
    expect(room.doc.getText('t').toString()).toBe('what we wrote first');
    expect(partner.socket.closedWith).toBeNull();
    expect(partner.doc.getText('t').toString()).toBe('what we wrote first');
    const reader = client();
    reader.connect();
    await flush([room], [reader]);
    expect(reader.socket.closedWith).toBeNull();
    expect(reader.doc.getText('t').toString()).toBe('what we wrote first');
  });

  it('counts updates still on their way to storage, so a burst cannot slip past the quota', async () => {
    const { room, client, storage, spaceId } = await setup({ maxSpaceBytes: 2_000 });
    const a = client();
    a.connect();
    await flush([room], [a]);
    for (let i = 0; i < 6; i++) a.doc.getText('t').insert(0, 'y'.repeat(500));
    a.pump();
    await room.whenIdle();
    expect(a.socket.closedWith).toBe(CloseCode.spaceFull);
    expect((await storage.storedBytes(spaceId)) <= 2_000).toBe(true);
  });

  it("lets a returning device's sync step 2 through when it brings nothing new", async () => {
    const { room, client, docStore, spaceId } = await setup({ maxSpaceBytes: 1_600 });
    const a = client();
    a.connect();
    await flush([room], [a]);
    a.doc.getText('t').insert(0, 'z'.repeat(1_000));
    a.doc.transact(() => {
      for (let i = 0; i < 200; i++) a.doc.getText('t').delete(i, 1);
    });
    await flush([room], [a]);
    expect(a.socket.closedWith).toBeNull();
    const back = client();
    Y.applyUpdate(back.doc, Y.encodeStateAsUpdate(a.doc));
    back.outbox.splice(0);
    // Its sync step 2 repeats the whole delete set: more than the space has left.
    const step2 = Y.encodeStateAsUpdate(back.doc, Y.encodeStateVector(room.doc));
    expect(docStore.hasRoomFor(spaceId, step2.byteLength)).toBe(false);
    back.connect();
    await flush([room], [back]);
    expect(back.socket.closedWith).toBeNull();
    expect(back.doc.getText('t').length).toBe(800);
  });

  it('still stores a change the server makes itself, such as writing a joining partner', async () => {
    const { room, client, storage, spaceId } = await setup({ maxSpaceBytes: 1_000 });
    const a = client();
    a.connect();
    await flush([room], [a]);
    a.doc.getText('t').insert(0, 'w'.repeat(2_000));
    await flush([room], [a]);
    expect(a.socket.closedWith).toBe(CloseCode.spaceFull);
    await room.change((doc) => doc.getMap('partners').set('p2', 'Sam'));
    expect((await storedDoc(storage, spaceId)).getMap('partners').get('p2')).toBe('Sam');
  });
});

describe('presence', () => {
  it('refuses an awareness message with more entries than allowed with 4413', async () => {
    const { room, client } = await setup({ limits: { awarenessEntriesPerMessage: 4 } });
    const a = client();
    a.connect();
    await flush([room], [a]);
    const entries = Array.from({ length: 5 }, (_, i) => ({
      clientId: 100 + i,
      clock: 1,
      state: '{}',
    }));
    a.sendRaw(awarenessFrame(entries));
    expect(a.socket.closedWith).toBe(CloseCode.awarenessTooLarge);
  });

  it("a socket cannot remove or rewrite its partner's presence", async () => {
    const { room, client, metrics } = await setup();
    const partner = client();
    const stranger = client();
    partner.connect();
    stranger.connect();
    partner.awareness.setLocalStateField('user', { name: 'Robin' });
    await flush([room], [partner, stranger]);
    const id = partner.doc.clientID;
    stranger.sendRaw(
      awarenessFrame([
        { clientId: id, clock: 1_000, state: JSON.stringify({ user: { name: 'X' } }) },
      ]),
    );
    stranger.sendRaw(awarenessFrame([{ clientId: id, clock: 2_000, state: 'null' }]));
    await flush([room], [partner, stranger]);
    expect(stranger.awareness.getStates().get(id)).toEqual({ user: { name: 'Robin' } });
    const late = client();
    late.connect();
    await flush([room], [late]);
    expect(late.awareness.getStates().get(id)).toEqual({ user: { name: 'Robin' } });
    expect(await rejectedFor(metrics, 'awareness-not-owned')).toBe(2);
  });

  it('a device whose node died takes its presence back on its new node once the old copy expired', async () => {
    let now = 0;
    const storage = new MemoryAdapter();
    const spaceId = await createBareSpace(storage);
    const hub = new MemoryPubSubHub();
    const load = async () => {
      const deps = roomDeps(storage, { pubsub: new MemoryPubSub(hub), now: () => now }).deps;
      const room = await Room.load(spaceId, deps);
      rooms.push(room);
      return room;
    };
    const [first, second] = [await load(), await load()];
    const moving = new TestClient(first);
    const partner = new TestClient(second);
    clients.push(moving, partner);
    moving.connect();
    partner.connect();
    moving.awareness.setLocalStateField('user', { name: 'Robin' });
    await flush([first, second], [moving, partner]);
    const id = moving.doc.clientID;
    expect(partner.awareness.getStates().get(id)).toEqual({ user: { name: 'Robin' } });

    // The first node dies without a word; the device reconnects to the second node.
    const moved = new TestClient(second);
    clients.push(moved);
    moved.connect();
    await flush([second], [moved, partner]);
    const state = (name: string, clock: number) => ({
      clientId: id,
      clock,
      state: JSON.stringify({ user: { name } }),
    });
    moved.sendRaw(awarenessFrame([state('Robin, too early', 5)]));
    await flush([second], [moved, partner]);
    expect(partner.awareness.getStates().get(id)).toEqual({ user: { name: 'Robin' } });
    now = 31_000;
    moved.sendRaw(awarenessFrame([state('Robin, moved', 6)]));
    await flush([second], [moved, partner]);
    expect(moved.socket.closedWith).toBeNull();
    expect(partner.awareness.getStates().get(id)).toEqual({ user: { name: 'Robin, moved' } });
  });

  it('a socket may still remove its own presence', async () => {
    const { room, client } = await setup();
    const a = client();
    const b = client();
    a.connect();
    b.connect();
    a.awareness.setLocalStateField('user', { name: 'Robin' });
    await flush([room], [a, b]);
    expect(b.awareness.getStates().has(a.doc.clientID)).toBe(true);
    a.awareness.setLocalState(null);
    await flush([room], [a, b]);
    expect(b.awareness.getStates().has(a.doc.clientID)).toBe(false);
  });
});

describe('bad input', () => {
  it.each([
    ['a truncated clock', [1, 5, 0x80]],
    ['a state that is not UTF-8', [1, 5, 1, 2, 0xff, 0xfe]],
    ['a count larger than what follows', [3, 5, 1]],
  ])(
    'a malformed awareness message (%s) closes with 4400, is counted, and is logged only at debug',
    async (_name, payload) => {
      const { log, lines } = capturedLog();
      const { room, client, metrics } = await setup({ log });
      const a = client();
      a.connect();
      await flush([room], [a]);
      a.sendRaw(awarenessBytes(payload));
      expect(a.socket.closedWith).toBe(CloseCode.badMessage);
      expect(await rejectedFor(metrics, 'malformed-awareness')).toBe(1);
      expect(lines.filter((line) => line.level >= 40)).toEqual([]);
      expect(lines.some((line) => line.level === 20 && /bad input/.test(line.msg))).toBe(true);
    },
  );

  it("an update reusing the room's own client id is counted, with no stray line on stdout", async () => {
    const { room, client, storage, spaceId, metrics } = await setup();
    const print = vi.spyOn(console, 'log');
    const a = client();
    a.connect();
    await flush([room], [a]);
    await room.change((doc) => doc.getText('t').insert(0, 'server'));
    await flush([room], [a]);
    // A device that copies the room's client id and writes under it.
    const copycat = new Y.Doc();
    Y.applyUpdate(copycat, Y.encodeStateAsUpdate(a.doc));
    copycat.clientID = room.doc.clientID;
    const before = Y.encodeStateVector(copycat);
    copycat.getText('t').insert(6, ' and device');
    a.sendRaw(syncUpdate(Y.encodeStateAsUpdate(copycat, before)));
    await flush([room], [a]);
    expect(print).not.toHaveBeenCalled();
    expect((await metrics.clientIdChanges.get()).values[0]?.value).toBe(1);
    expect(a.socket.closedWith).toBeNull();
    expect((await storedDoc(storage, spaceId)).getText('t').toString()).toBe('server and device');
    // The room writes under its new id from now on, without clashing with the copycat.
    await room.change((doc) => doc.getText('t').insert(0, '> '));
    expect((await storedDoc(storage, spaceId)).getText('t').toString()).toBe('> server and device');
  });
});

function syncUpdate(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  encoding.writeVarUint(encoder, 2);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}
