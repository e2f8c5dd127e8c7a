import { createHash } from 'node:crypto';
import { CloseCode, MessageType } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MemoryPubSub, MemoryPubSubHub } from '../pubsub/MemoryPubSub.js';
import { encodeMembersEnded, type MembersEnded } from '../pubsub/membersEnded.js';
import { BusKind, SpaceBus } from '../pubsub/SpaceBus.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import { createBareSpace } from '../testSpaces.testkit.js';
import { Room } from './Room.js';
import {
  TestClient,
  flush,
  rejectedFor,
  roomDeps,
  roomTestbed,
  storedDoc,
  syncUpdateMessage,
} from './roomHarness.testkit.js';

const { clients, rooms, setup } = roomTestbed();

/** Storage whose appends wait until the test lets them through. */
class GatedStorage extends MemoryAdapter {
  #open = false;
  #waiting: (() => void)[] = [];

  override async appendUpdate(...args: Parameters<MemoryAdapter['appendUpdate']>) {
    if (!this.#open) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    return super.appendUpdate(...args);
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  open(): void {
    this.#open = true;
    for (const resolve of this.#waiting.splice(0)) resolve();
  }
}

async function counterValue(counter: { get(): Promise<{ values: { value: number }[] }> }) {
  return (await counter.get()).values[0]?.value ?? 0;
}

/** The update carried by a sync step 2 or update message. */
function readSyncPayload(message: Uint8Array): Uint8Array {
  const decoder = decoding.createDecoder(message);
  expect(decoding.readVarUint(decoder)).toBe(MessageType.sync);
  decoding.readVarUint(decoder);
  return decoding.readVarUint8Array(decoder);
}

describe('room', () => {
  it("a partner's edit reaches the other partner while both are online", async () => {
    const { room, client } = await setup();
    const a = client();
    const b = client();
    a.connect();
    b.connect();
    await flush([room], [a, b]);
    a.doc.getText('t').insert(0, 'we agreed');
    await flush([room], [a, b]);
    expect(b.doc.getText('t').toString()).toBe('we agreed');
  });

  it('stores an update before relaying it to anyone', async () => {
    const storage = new GatedStorage();
    const { room, client, spaceId } = await setup({}, storage);
    const a = client();
    const b = client();
    a.connect();
    b.connect();
    a.pump();
    b.pump();
    a.pump();
    b.pump();
    a.doc.getText('t').insert(0, 'hello');
    a.pump();
    expect(storage.waiting).toBe(1);
    b.pump();
    expect(b.doc.getText('t').toString()).toBe('');
    storage.open();
    await flush([room], [a, b]);
    expect(b.doc.getText('t').toString()).toBe('hello');
    expect((await storedDoc(storage, spaceId)).getText('t').toString()).toBe('hello');
  });

  it('answers sync step 1 only with what is stored', async () => {
    const storage = new GatedStorage();
    const { room, client } = await setup({}, storage);
    const a = client();
    a.connect();
    a.pump();
    a.pump();
    a.doc.getText('t').insert(0, 'pending');
    a.pump();
    const late = client();
    late.connect();
    late.pump();
    late.pump();
    expect(late.doc.getText('t').toString()).toBe('');
    storage.open();
    await flush([room], [a, late]);
    expect(late.doc.getText('t').toString()).toBe('pending');
  });

  it('a device that returns from offline converges with what was written meanwhile', async () => {
    const { room, client } = await setup();
    const a = client();
    const b = client();
    a.connect();
    b.connect();
    await flush([room], [a, b]);
    b.disconnect();
    a.doc.getText('t').insert(0, 'online ');
    b.doc.getText('t').insert(0, 'offline ');
    await flush([room], [a]);
    const back = new TestClient(room);
    clients.push(back);
    Y.applyUpdate(back.doc, Y.encodeStateAsUpdate(b.doc));
    back.outbox.splice(0);
    back.connect();
    await flush([room], [a, back]);
    expect(a.doc.getText('t').toString()).toBe(back.doc.getText('t').toString());
    expect(a.doc.getText('t').toString()).toContain('offline');
    expect(a.doc.getText('t').toString()).toContain('online');
  });

  it('a late joiner receives current presence, and a closed socket’s presence is removed for all', async () => {
    const { room, client } = await setup();
    const a = client();
    const b = client();
    a.connect();
    a.awareness.setLocalStateField('user', { name: 'Robin' });
    await flush([room], [a]);
    b.connect();
    await flush([room], [a, b]);
    expect(b.awareness.getStates().get(a.doc.clientID)).toEqual({ user: { name: 'Robin' } });
    a.disconnect();
    await flush([room], [b]);
    expect(b.awareness.getStates().has(a.doc.clientID)).toBe(false);
  });

  it('echoes presence to a device alone in its space, so its provider does not time out', async () => {
    const { room, client } = await setup();
    const alone = client();
    alone.connect();
    await flush([room], [alone]);
    alone.awareness.setLocalStateField('user', { name: 'Robin' });
    alone.pump();
    expect(alone.socket.sent.length).toBeGreaterThan(0);
  });

  it('closes a socket that sends garbage with 4400 and keeps serving the others', async () => {
    const { room, client, storage, spaceId } = await setup();
    const a = client();
    const b = client();
    a.connect();
    b.connect();
    await flush([room], [a, b]);
    a.sendRaw(new Uint8Array([0, 2, 5, 1, 2, 3]));
    expect(a.socket.closedWith).toBe(CloseCode.badMessage);
    b.doc.getText('t').insert(0, 'still here');
    await flush([room], [b]);
    expect((await storedDoc(storage, spaceId)).getText('t').toString()).toBe('still here');
  });

  it.each([
    ['an unknown message type', [9, 0]],
    ['a truncated varint', [0x80]],
    ['an unknown sync step', [0, 7, 0]],
    ['a huge length prefix', [0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 1]],
    ['an empty message', []],
    ['trailing bytes', [3, 0]],
  ])('closes with 4400 on %s', async (_name, bytes) => {
    const { room, client } = await setup();
    const a = client();
    a.connect();
    await flush([room], [a]);
    a.sendRaw(new Uint8Array(bytes));
    expect(a.socket.closedWith).toBe(CloseCode.badMessage);
  });

  it('refuses an update with a truncated delete set and leaves the document untouched', async () => {
    const { room, client, storage, spaceId } = await setup();
    const a = client();
    a.connect();
    await flush([room], [a]);
    const source = new Y.Doc();
    source.getText('t').insert(0, 'hello world');
    source.getText('t').delete(0, 6);
    const update = Y.encodeStateAsUpdate(source);
    a.sendRaw(syncUpdateMessage(update.slice(0, update.length - 1)));
    await room.whenIdle();
    expect(a.socket.closedWith).toBe(CloseCode.badMessage);
    expect(room.doc.getText('t').toString()).toBe('');
    expect((await storage.loadDoc(spaceId)).updates).toHaveLength(0);
  });

  it('refuses an update whose dependencies it lacks without parking it, and asks the client for them', async () => {
    const { room, client, storage, spaceId } = await setup();
    const a = client();
    a.connect();
    await flush([room], [a]);
    // The device holds an edit the server never received (say, a write that failed)...
    const source = new Y.Doc();
    source.getText('t').insert(0, 'first');
    Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(source), a);
    // ...and types on: this update depends on the missing one.
    a.doc.getText('t').insert(5, ' second');
    a.pump();
    expect(room.doc.store.pendingStructs).toBeNull();
    expect(room.doc.getText('t').toString()).toBe('');
    await flush([room], [a]);
    expect(a.socket.closedWith).toBeNull();
    expect(room.doc.getText('t').toString()).toBe('first second');
    expect((await storedDoc(storage, spaceId)).getText('t').toString()).toBe('first second');
  });

  it('closes a socket past the message rate with 1013, try again later', async () => {
    const { room, client } = await setup({
      limits: { messageBurst: 5, messagesPerSecond: 1 },
      now: () => 0,
    });
    const a = client();
    a.connect();
    for (let i = 0; i < 6; i++) a.sendRaw(new Uint8Array([MessageType.queryAwareness]));
    await room.whenIdle();
    expect(a.socket.closedWith).toBe(CloseCode.tooMany);
  });

  it('closes a socket past its byte budget with 1013 while its partner keeps syncing', async () => {
    const { room, client, storage, spaceId, metrics } = await setup({
      limits: { byteBurst: 10_000, bytesPerSecond: 1_000 },
      now: () => 0,
    });
    const heavy = client();
    const partner = client();
    heavy.connect();
    partner.connect();
    await flush([room], [heavy, partner]);
    // Two messages of about 4 kB fit in the burst; a third in the same instant does not.
    heavy.doc.getText('t').insert(0, 'a'.repeat(4_000));
    heavy.doc.getText('t').insert(0, 'b'.repeat(4_000));
    heavy.pump();
    expect(heavy.socket.closedWith).toBeNull();
    heavy.doc.getText('t').insert(0, 'c'.repeat(4_000));
    heavy.pump();
    expect(heavy.socket.closedWith).toBe(CloseCode.tooMany);
    expect(await rejectedFor(metrics, 'too-many-bytes')).toBe(1);
    partner.doc.getText('p').insert(0, 'still here');
    await flush([room], [partner]);
    expect(partner.socket.closedWith).toBeNull();
    expect((await storedDoc(storage, spaceId)).getText('p').toString()).toBe('still here');
  });

  it('refills the byte budget over time: a socket within the rate on average stays open', async () => {
    let now = 0;
    const { room, client } = await setup({
      limits: { byteBurst: 10_000, bytesPerSecond: 1_000 },
      now: () => now,
    });
    const a = client();
    a.connect();
    await flush([room], [a]);
    for (let i = 0; i < 10; i++) {
      a.doc.getText('t').insert(0, 'x'.repeat(4_000));
      await flush([room], [a]);
      now += 4_000;
    }
    expect(a.socket.closedWith).toBeNull();
    expect(room.doc.getText('t').length).toBe(40_000);
  });

  it('closes sockets beyond the per-space cap with 1013, try again later', async () => {
    const { client } = await setup({ limits: { socketsPerSpace: 16 } });
    const attached = Array.from({ length: 17 }, () => client().connect());
    expect(attached.filter(Boolean)).toHaveLength(16);
    expect(clients.at(-1)?.socket.closedWith).toBe(CloseCode.tooMany);
  });

  it('refuses an awareness state larger than the cap with 4413', async () => {
    const { room, client } = await setup({ limits: { awarenessStateBytes: 100 } });
    const a = client();
    a.connect();
    a.awareness.setLocalStateField('note', 'x'.repeat(200));
    await flush([room], [a]);
    expect(a.socket.closedWith).toBe(CloseCode.awarenessTooLarge);
  });

  it('a server-side change is stored and relayed to connected sockets', async () => {
    const { room, client, storage, spaceId } = await setup();
    const a = client();
    a.connect();
    await flush([room], [a]);
    await room.change((doc) => doc.getMap('space').set('name', 'Us'));
    await flush([room], [a]);
    expect(a.doc.getMap('space').get('name')).toBe('Us');
    expect((await storedDoc(storage, spaceId)).getMap('space').get('name')).toBe('Us');
  });

  it('closes every socket with 1011 when storage fails, and stops serving', async () => {
    class FailingStorage extends MemoryAdapter {
      override async appendUpdate(): Promise<number> {
        throw new Error('disk full');
      }
    }
    const { room, client } = await setup({}, new FailingStorage());
    const a = client();
    const b = client();
    a.connect();
    b.connect();
    await flush([room], [a, b]);
    a.doc.getText('t').insert(0, 'lost?');
    a.pump();
    await room.whenIdle();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(a.socket.closedWith).toBe(CloseCode.serverError);
    expect(b.socket.closedWith).toBe(CloseCode.serverError);
    expect(room.isOpen).toBe(false);
  });

  it('says the space is gone (4404) when a write fails because it was deleted', async () => {
    const { room, client, storage, spaceId } = await setup();
    const a = client();
    a.connect();
    await flush([room], [a]);
    await storage.deleteSpace(spaceId);
    a.doc.getText('t').insert(0, 'after deletion');
    a.pump();
    await room.whenIdle();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(a.socket.closedWith).toBe(CloseCode.spaceGone);
    expect(await storage.loadDoc(spaceId)).toEqual({ snapshot: null, updates: [] });
  });

  it('says the space is sealed now (4410) when a write fails because it was converted meanwhile', async () => {
    const { room, client, storage, spaceId } = await setup();
    const a = client();
    a.connect();
    await flush([room], [a]);
    const [partner] = await storage.listPartners(spaceId);
    const author = new Uint8Array(32).fill(1);
    const entry = (counter: number, prev: Uint8Array, envelope: Uint8Array) => ({
      author,
      stream: 9,
      counter,
      prev,
      hash: new Uint8Array(createHash('sha256').update(envelope).digest()),
      envelope,
    });
    const member = entry(1, new Uint8Array(32), new Uint8Array([1]));
    const seal = {
      devices: [
        {
          partnerId: partner?.partnerId ?? ('' as never),
          signingKey: author,
          agreementKey: author,
          keyBox: null,
        },
      ],
      envelopes: [member, entry(2, member.hash, new Uint8Array([2]))] as const,
      invite: { inviteHash: new Uint8Array(32), welcome: new Uint8Array(8) },
    };
    expect(await storage.sealPlaintextSpace(spaceId, seal, 1)).toEqual({ sealed: true });
    a.doc.getText('t').insert(0, 'written after the conversion');
    a.pump();
    await room.whenIdle();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(a.socket.closedWith).toBe(CloseCode.sealedNow);
    expect(await storage.loadDoc(spaceId)).toEqual({ snapshot: null, updates: [] });
  });
});

describe('a dormant room', () => {
  it('drops its live document when idle, answers a late joiner from bytes, and wakes on an edit', async () => {
    let now = 0;
    const { room, client, storage, spaceId } = await setup({ now: () => now });
    const a = client();
    a.connect();
    a.doc.getText('t').insert(0, 'before sleeping');
    await flush([room], [a]);
    expect(room.sleepIfIdle(1000)).toBe(false);
    now = 1000;
    expect(room.sleepIfIdle(1000)).toBe(true);
    expect(room.isAwake).toBe(false);

    const late = client();
    late.connect();
    late.socket.take(); // drop the server's step 1, so the client sends only its own step 1
    late.pump();
    // Sync step 1 was answered from the encoded bytes, without waking the document.
    expect(room.isAwake).toBe(false);
    await flush([room], [a, late]);
    expect(late.doc.getText('t').toString()).toBe('before sleeping');

    late.doc.getText('t').insert(0, 'awake: ');
    await flush([room], [a, late]);
    expect(room.isAwake).toBe(true);
    expect(a.doc.getText('t').toString()).toBe('awake: before sleeping');
    expect((await storedDoc(storage, spaceId)).getText('t').toString()).toBe(
      'awake: before sleeping',
    );
    expect((await storage.loadDoc(spaceId)).updates).toHaveLength(2);
  });

  /** A room whose one device wrote something and then nothing for a while: it is dormant. */
  async function dormantRoom(write: (doc: Y.Doc) => void) {
    let now = 0;
    const fixture = await setup({ now: () => now });
    const a = fixture.client();
    a.connect();
    write(a.doc);
    await flush([fixture.room], [a]);
    now = 1000;
    expect(fixture.room.sleepIfIdle(1000)).toBe(true);
    const wakes = () => counterValue(fixture.metrics.roomWakes);
    return { ...fixture, a, wakes, wakesBefore: await wakes() };
  }

  it('stays dormant, never rebuilding its document, when a returning device holds exactly what it holds', async () => {
    const { room, client, a, wakes, wakesBefore } = await dormantRoom((doc) => {
      doc.getText('t').insert(0, 'known, with a deletion');
      doc.getText('t').delete(5, 6);
      doc.getMap('m').set('k', 'first');
      doc.getMap('m').set('k', 'second');
    });
    // Its step 1 (equal state vector) and its step 2 (the same deletions, no structs) are both
    // answered from the encoded state.
    const back = client();
    Y.applyUpdate(back.doc, Y.encodeStateAsUpdate(a.doc), back);
    back.connect();
    await flush([room], [a, back]);
    expect(back.doc.getText('t').toString()).toBe('known a deletion');
    expect(room.isAwake).toBe(false);
    expect(await wakes()).toBe(wakesBefore);
  });

  it('wakes for deletions it does not hold yet, and stores them', async () => {
    const { room, client, a, wakes, wakesBefore, storage, spaceId } = await dormantRoom((doc) =>
      doc.getText('t').insert(0, 'keep this, drop this'),
    );
    a.disconnect();
    a.doc.getText('t').delete(9, 11);
    const again = client();
    Y.applyUpdate(again.doc, Y.encodeStateAsUpdate(a.doc), again);
    again.connect();
    await flush([room], [again]);
    expect(await wakes()).toBe(wakesBefore + 1);
    expect((await storedDoc(storage, spaceId)).getText('t').toString()).toBe('keep this');
  });

  it("stays dormant when a fresh device's sync step 2 is empty, and after a server check that writes nothing", async () => {
    const { room, client, a, wakes, wakesBefore } = await dormantRoom((doc) => {
      doc.getText('t').insert(0, 'known');
      doc.getText('t').delete(0, 1);
    });
    const fresh = client();
    fresh.connect();
    fresh.pump();
    expect(room.isAwake).toBe(false);
    await flush([room], [a, fresh]);
    expect(fresh.doc.getText('t').toString()).toBe('nown');
    expect(room.isAwake).toBe(false);
    expect(await wakes()).toBe(wakesBefore);
    await room.change(() => {});
    expect(room.isAwake).toBe(false);
  });

  it('answers a device that is behind with only what it lacks, from the encoded state', async () => {
    let now = 0;
    const { room, client, metrics } = await setup({ now: () => now });
    const a = client();
    a.connect();
    a.doc.getText('t').insert(0, 'old'.repeat(100));
    await flush([room], [a]);
    const behind = client();
    Y.applyUpdate(behind.doc, Y.encodeStateAsUpdate(a.doc), behind);
    a.doc.getText('t').insert(300, ' and new');
    await flush([room], [a]);
    now = 1000;
    expect(room.sleepIfIdle(1000)).toBe(true);
    const wakes = await counterValue(metrics.roomWakes);
    behind.connect();
    behind.socket.take(); // only its own step 1 goes out
    behind.pump();
    const [reply] = behind.socket.take();
    expect(reply).toBeDefined();
    const payload = readSyncPayload(reply!);
    Y.applyUpdate(behind.doc, payload, behind);
    expect(behind.doc.getText('t').toString()).toBe('old'.repeat(100) + ' and new');
    expect(payload.byteLength).toBeLessThan(100);
    expect(await counterValue(metrics.roomWakes)).toBe(wakes);
  });

  it('does not sleep while a write is pending', async () => {
    let now = 0;
    const storage = new GatedStorage();
    const { room, client } = await setup({ now: () => now }, storage);
    const a = client();
    a.connect();
    a.pump();
    a.doc.getText('t').insert(0, 'pending');
    a.pump();
    now = 10_000;
    expect(room.sleepIfIdle(1000)).toBe(false);
    storage.open();
    await flush([room], [a]);
    expect(room.sleepIfIdle(1000)).toBe(true);
  });
});

describe('rooms on two server processes', () => {
  /**
   * One space in shared storage with a room for it on each of `count` nodes (one pub/sub hub),
   * each room with one connected, synced device.
   */
  async function spaceOnNodes(count: number) {
    const storage = new MemoryAdapter();
    const spaceId = await createBareSpace(storage);
    const hub = new MemoryPubSubHub();
    const nodes: { room: Room; device: TestClient; closedMembers: MembersEnded[] }[] = [];
    for (let i = 0; i < count; i += 1) {
      const { deps, closedMembers } = roomDeps(storage, { pubsub: new MemoryPubSub(hub) });
      const room = await Room.load(spaceId, deps);
      const device = new TestClient(room);
      rooms.push(room);
      clients.push(device);
      device.connect();
      nodes.push({ room, device, closedMembers });
    }
    await flush(
      nodes.map((n) => n.room),
      nodes.map((n) => n.device),
    );
    return {
      storage,
      spaceId,
      hub,
      rooms: nodes.map((n) => n.room),
      devices: nodes.map((n) => n.device),
      closedMembers: nodes.map((n) => n.closedMembers),
    };
  }

  it('an edit on one node reaches a partner on the other, stored exactly once', async () => {
    const { storage, spaceId, rooms: nodes, devices } = await spaceOnNodes(2);
    const [a, b] = devices as [TestClient, TestClient];
    a.awareness.setLocalStateField('user', { name: 'Robin' });
    await flush(nodes, devices);
    a.doc.getText('t').insert(0, 'across nodes');
    await flush(nodes, devices);
    expect(b.doc.getText('t').toString()).toBe('across nodes');
    expect(b.awareness.getStates().get(a.doc.clientID)).toEqual({ user: { name: 'Robin' } });
    expect((await storage.loadDoc(spaceId)).updates).toHaveLength(1);
  });

  it("closing a room (shutdown) tells the other nodes that its devices' presence is gone", async () => {
    const { rooms: nodes, devices } = await spaceOnNodes(2);
    const [roomA, roomB] = nodes as [Room, Room];
    const [a, b] = devices as [TestClient, TestClient];
    a.awareness.setLocalStateField('user', { name: 'Robin' });
    await flush(nodes, devices);
    expect(b.awareness.getStates().has(a.doc.clientID)).toBe(true);
    await roomA.close();
    await flush([roomB], [b]);
    expect(b.awareness.getStates().has(a.doc.clientID)).toBe(false);
  });

  it('an update from another node that arrives before its dependencies is caught up from storage', async () => {
    const { storage, spaceId, hub, rooms: nodes, devices } = await spaceOnNodes(1);
    const [roomA] = nodes as [Room];
    const [a] = devices as [TestClient];
    // Node B stored two updates but node A only hears about the second.
    const other = new Y.Doc();
    other.getText('t').insert(0, 'first');
    const first = Y.encodeStateAsUpdate(other);
    const before = Y.encodeStateVector(other);
    other.getText('t').insert(5, ' second');
    const second = Y.encodeStateAsUpdate(other, before);
    await storage.appendUpdate(spaceId, first);
    await storage.appendUpdate(spaceId, second);
    const nodeB = new SpaceBus(new MemoryPubSub(hub));
    await nodeB.publish(spaceId, BusKind.update, second);
    await flush([roomA], [a]);
    expect(a.doc.getText('t').toString()).toBe('first second');
    expect(roomA.doc.store.pendingStructs).toBeNull();
  });

  it('a space sealed by another node closes this node’s sockets with 4410 and drops its document', async () => {
    const { spaceId, hub, rooms: nodes, devices, closedMembers } = await spaceOnNodes(2);
    const [roomA, roomB] = nodes as [Room, Room];
    const [a, b] = devices as [TestClient, TestClient];
    let forgotten = false;
    roomB.on('failed', () => (forgotten = true));
    const sealingNode = new SpaceBus(new MemoryPubSub(hub));
    const ended = { code: CloseCode.sealedNow, members: ['partner:A', 'partner:B'] } as const;
    await sealingNode.publish(spaceId, BusKind.membersEnded, encodeMembersEnded(ended));
    await flush(nodes, devices);
    expect([a.socket.closedWith, b.socket.closedWith]).toEqual([
      CloseCode.sealedNow,
      CloseCode.sealedNow,
    ]);
    expect([roomA.isOpen, roomB.isOpen]).toEqual([false, false]);
    expect(forgotten).toBe(true);
    // The transport closes the partners' sockets too, and their upgrades still in flight.
    expect(closedMembers).toEqual([[ended], [ended]]);
  });

  it('a device revoked on another node: this node hands its member to the transport, and the room and the other sockets carry on', async () => {
    const { spaceId, hub, rooms: nodes, devices, closedMembers } = await spaceOnNodes(2);
    const [roomA] = nodes as [Room, Room];
    const [a, b] = devices as [TestClient, TestClient];
    const revokingNode = new SpaceBus(new MemoryPubSub(hub));
    const ended = { code: CloseCode.revoked, members: ['partner:B'] } as const;
    await revokingNode.publish(spaceId, BusKind.membersEnded, encodeMembersEnded(ended));
    await flush(nodes, devices);
    expect(closedMembers).toEqual([[ended], [ended]]);
    expect([a.socket.closedWith, b.socket.closedWith]).toEqual([null, null]);
    a.doc.getText('t').insert(0, 'still here');
    await flush(nodes, devices);
    expect(b.doc.getText('t').toString()).toBe('still here');
    expect(roomA.isOpen).toBe(true);
  });

  it('drops a members-ended message that does not decode, closing nothing', async () => {
    const { spaceId, hub, rooms: nodes, devices, closedMembers } = await spaceOnNodes(1);
    const [a] = devices as [TestClient];
    const otherNode = new SpaceBus(new MemoryPubSub(hub));
    const badCode = encodeMembersEnded({ code: CloseCode.revoked, members: ['partner:A'] });
    badCode[0] = 0x7f;
    await otherNode.publish(spaceId, BusKind.membersEnded, badCode);
    await otherNode.publish(spaceId, BusKind.membersEnded, new Uint8Array([0xb1, 0x22, 5]));
    await flush(nodes, devices);
    expect(closedMembers).toEqual([[]]);
    expect(a.socket.closedWith).toBeNull();
    expect((nodes as [Room])[0].isOpen).toBe(true);
  });

  it('after a pub/sub outage a room catches up from storage', async () => {
    const { storage, spaceId, rooms: nodes, devices } = await spaceOnNodes(1);
    const [roomA] = nodes as [Room];
    const [a] = devices as [TestClient];
    // Another node stored an update whose message this node missed.
    const other = new Y.Doc();
    other.getText('t').insert(0, 'missed');
    await storage.appendUpdate(spaceId, Y.encodeStateAsUpdate(other));
    await roomA.resyncFromStorage();
    await flush([roomA], [a]);
    expect(a.doc.getText('t').toString()).toBe('missed');
  });

  it('a room catches up from storage when another node says it dropped messages of its space', async () => {
    const { storage, spaceId, hub, rooms: nodes, devices } = await spaceOnNodes(1);
    const [a] = devices as [TestClient];
    // Stored by a node whose messages for this space were dropped while it lost Redis.
    const other = new Y.Doc();
    other.getText('t').insert(0, 'dropped');
    await storage.appendUpdate(spaceId, Y.encodeStateAsUpdate(other));
    const droppingNode = new SpaceBus(new MemoryPubSub(hub));
    await droppingNode.publish(spaceId, BusKind.catchUp, new Uint8Array(0));
    await flush(nodes, devices);
    expect(a.doc.getText('t').toString()).toBe('dropped');
  });
});
