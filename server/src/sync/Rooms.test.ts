import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import { createBareSpace } from '../testSpaces.testkit.js';
import { MemorySocket, TestClient, flush, roomDeps } from './roomHarness.testkit.js';
import { Rooms, documentRooms } from './Rooms.js';

afterEach(() => {
  vi.useRealTimers();
});

async function loadedRoomsGauge(metrics: ReturnType<typeof roomDeps>['metrics']): Promise<number> {
  const metric = await metrics.loadedRooms.get();
  return metric.values[0]?.value ?? 0;
}

describe('rooms', () => {
  it('share one room per space and unload it a grace period after the last socket leaves', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const storage = new MemoryAdapter();
    const spaceId = await createBareSpace(storage);
    const fixture = roomDeps(storage);
    const rooms = new Rooms(documentRooms(fixture.deps), 1000);
    const [first, second] = await Promise.all([rooms.acquire(spaceId), rooms.acquire(spaceId)]);
    expect(first).toBe(second);
    expect(await loadedRoomsGauge(fixture.metrics)).toBe(1);
    const socket = new MemorySocket();
    first.attach(socket);
    rooms.release(first);
    first.detach(socket);
    rooms.release(second);
    vi.advanceTimersByTime(999);
    expect(rooms.isLoaded(spaceId)).toBe(true);
    vi.advanceTimersByTime(1);
    expect(rooms.isLoaded(spaceId)).toBe(false);
    expect(await loadedRoomsGauge(fixture.metrics)).toBe(0);
  });

  it('keeps a room that is used again within the grace period', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const storage = new MemoryAdapter();
    const spaceId = await createBareSpace(storage);
    const rooms = new Rooms(documentRooms(roomDeps(storage).deps), 1000);
    const room = await rooms.acquire(spaceId);
    rooms.release(room);
    vi.advanceTimersByTime(500);
    const again = await rooms.acquire(spaceId);
    vi.advanceTimersByTime(5000);
    expect(again).toBe(room);
    expect(rooms.isLoaded(spaceId)).toBe(true);
    await rooms.closeAll();
  });

  it('forgets a room whose load failed, so the next use tries again', async () => {
    class FlakyStorage extends MemoryAdapter {
      failures = 1;
      override async loadDoc(...args: Parameters<MemoryAdapter['loadDoc']>) {
        if (this.failures-- > 0) throw new Error('database unavailable');
        return super.loadDoc(...args);
      }
    }
    const storage = new FlakyStorage();
    const spaceId = await createBareSpace(storage);
    const rooms = new Rooms(documentRooms(roomDeps(storage).deps), 1000);
    await expect(rooms.acquire(spaceId)).rejects.toThrow('database unavailable');
    expect(rooms.isLoaded(spaceId)).toBe(false);
    const room = await rooms.acquire(spaceId);
    expect(room.isOpen).toBe(true);
    await rooms.closeAll();
  });

  it('forgets a failed room at once', async () => {
    class FailingStorage extends MemoryAdapter {
      override async appendUpdate(): Promise<number> {
        throw new Error('disk full');
      }
    }
    const storage = new FailingStorage();
    const spaceId = await createBareSpace(storage);
    const rooms = new Rooms(documentRooms(roomDeps(storage).deps), 60_000);
    const room = await rooms.acquire(spaceId);
    await expect(room.change((doc) => doc.getMap('m').set('k', 1))).rejects.toThrow();
    expect(rooms.isLoaded(spaceId)).toBe(false);
    rooms.release(room);
    const fresh = await rooms.acquire(spaceId);
    expect(fresh).not.toBe(room);
    await rooms.closeAll();
  });
});

describe('rooms under a memory cap', () => {
  /** What a room holding `text` is estimated to hold, awake and asleep. */
  async function sizes(text: string): Promise<{ awake: number; asleep: number }> {
    const storage = new MemoryAdapter();
    const rooms = new Rooms(documentRooms(roomDeps(storage).deps), 60_000);
    const room = await rooms.acquire(await createBareSpace(storage));
    await room.change((doc) => doc.getText('t').insert(0, text));
    const awake = room.heldBytes;
    room.sleepIfIdle(0);
    const asleep = room.heldBytes;
    await rooms.closeAll();
    return { awake, asleep };
  }

  /** Rooms under `maxLiveBytes` on one storage, with a clock that moves a second per space. */
  function capped(maxLiveBytes: number) {
    let clock = 1_000_000;
    const storage = new MemoryAdapter();
    const fixture = roomDeps(storage, { now: () => clock });
    const rooms = new Rooms(documentRooms(fixture.deps), 60_000, 60_000, maxLiveBytes);
    /** Loads a new space (held, as a socket would) and writes `text` into it. */
    const space = async (text: string) => {
      const spaceId = await createBareSpace(storage);
      const room = await rooms.acquire(spaceId);
      await room.change((doc) => doc.getText('t').insert(0, text));
      clock += 1000;
      return { spaceId, room };
    };
    return { rooms, metrics: fixture.metrics, space };
  }

  async function count(metric: { get(): Promise<{ values: { value: number }[] }> }) {
    return (await metric.get()).values[0]?.value ?? 0;
  }

  it('puts the least recently used rooms to sleep first once they hold more than the cap', async () => {
    const text = 'a'.repeat(2000);
    const { awake, asleep } = await sizes(text);
    expect(asleep * 5).toBeLessThan(awake);
    // Room for two live documents and one asleep (with a little slack: client ids differ in
    // encoded length): the third live one sends the oldest to sleep.
    const cap = 2 * awake + asleep + 500;
    const { rooms, metrics, space } = capped(cap);
    const [oldest, middle, newest] = [await space(text), await space(text), await space(text)];
    expect([oldest, middle, newest].every((s) => s.room.isAwake)).toBe(true);

    const held = rooms.fitMemory();
    expect(held).toBeLessThanOrEqual(cap);
    expect([oldest, middle, newest].map((s) => s.room.isAwake)).toEqual([false, true, true]);
    expect(await count(metrics.memorySleeps)).toBe(1);
    expect(await count(metrics.memoryUnloads)).toBe(0);
    expect(await count(metrics.liveBytes)).toBe(held);
    // Asleep, not gone: the oldest space still reads back whole.
    expect(oldest.room.doc.getText('t').toString()).toBe(text);
    await rooms.closeAll();
  });

  it('unloads the least recently used rooms no socket holds when sleeping is not enough', async () => {
    const text = 'b'.repeat(2000);
    const { awake, asleep } = await sizes(text);
    // The room in use awake and two asleep fit, and a little more; five are loaded.
    const { rooms, metrics, space } = capped(awake + 2 * asleep + asleep / 2);
    const spaces = [];
    for (let i = 0; i < 5; i++) spaces.push(await space(text));
    const [first, second, third, fourth, fifth] = spaces as [
      (typeof spaces)[0],
      (typeof spaces)[0],
      (typeof spaces)[0],
      (typeof spaces)[0],
      (typeof spaces)[0],
    ];
    // The second keeps its socket; the others' sockets left.
    for (const s of [first, third, fourth, fifth]) rooms.release(s.room);

    rooms.fitMemory();
    expect(spaces.map((s) => s.room.isAwake)).toEqual([false, false, false, false, true]);
    expect(spaces.map((s) => rooms.isLoaded(s.spaceId))).toEqual([false, true, false, true, true]);
    expect(await count(metrics.memoryUnloads)).toBe(2);
    // What was unloaded is only out of memory: the next use loads it from storage.
    const again = await rooms.acquire(first.spaceId);
    expect(again.doc.getText('t').toString()).toBe(text);
    expect(second.room.isOpen && fourth.room.isOpen).toBe(true);
    expect(third.room.isOpen).toBe(false);
    await rooms.closeAll();
  });

  it('still serves a space larger than the cap while it is the one in use', async () => {
    const big = 'c'.repeat(20_000);
    const { awake } = await sizes(big);
    const { rooms, space } = capped(awake / 4);
    const other = await space('small');
    const large = await space(big);

    rooms.fitMemory();
    expect(large.room.isAwake).toBe(true);
    expect(rooms.isLoaded(large.spaceId)).toBe(true);
    expect(other.room.isAwake).toBe(false);
    const client = new TestClient(large.room);
    client.connect();
    await flush([large.room], [client]);
    expect(client.doc.getText('t').toString()).toBe(big);
    client.destroy();
    await rooms.closeAll();
  });

  it('lets rooms be when they hold less than the cap', async () => {
    const text = 'd'.repeat(2000);
    const { awake } = await sizes(text);
    const { rooms, metrics, space } = capped(3 * awake + 1000);
    const spaces = [await space(text), await space(text), await space(text)];
    for (const s of spaces) rooms.release(s.room);
    expect(rooms.fitMemory()).toBeLessThanOrEqual(3 * awake + 1000);
    expect(spaces.every((s) => s.room.isAwake && rooms.isLoaded(s.spaceId))).toBe(true);
    expect(await count(metrics.memorySleeps)).toBe(0);
    await rooms.closeAll();
  });
});

describe('rooms under a memory cap, while writing', () => {
  it('never unloads a room whose write is still being stored', async () => {
    class SlowStorage extends MemoryAdapter {
      holding = false;
      #let: () => void = () => {};
      readonly #gate = new Promise<void>((resolve) => (this.#let = resolve));
      letThrough(): void {
        this.#let();
      }
      override async appendUpdate(...args: Parameters<MemoryAdapter['appendUpdate']>) {
        if (this.holding) await this.#gate;
        return super.appendUpdate(...args);
      }
    }
    let clock = 1_000_000;
    const storage = new SlowStorage();
    const rooms = new Rooms(
      documentRooms(roomDeps(storage, { now: () => clock }).deps),
      60_000,
      60_000,
      1,
    );
    const writingTo = await createBareSpace(storage);
    const other = await createBareSpace(storage);
    const room = await rooms.acquire(writingTo);
    storage.holding = true;
    const written = room.change((doc) => doc.getText('t').insert(0, 'kept'));
    rooms.release(room);
    clock += 1000;
    await rooms.acquire(other);

    rooms.fitMemory();
    expect(rooms.isLoaded(writingTo)).toBe(true);
    storage.letThrough();
    await written;
    rooms.fitMemory();
    expect(rooms.isLoaded(writingTo)).toBe(false);
    const again = await rooms.acquire(writingTo);
    expect(again.doc.getText('t').toString()).toBe('kept');
    await rooms.closeAll();
  });
});
