import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import { createBareSpace } from '../testSpaces.testkit.js';
import { MemorySocket, roomDeps } from './roomHarness.testkit.js';
import { Rooms } from './Rooms.js';

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
    const rooms = new Rooms(fixture.deps, 1000);
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
    const rooms = new Rooms(roomDeps(storage).deps, 1000);
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
    const rooms = new Rooms(roomDeps(storage).deps, 1000);
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
    const rooms = new Rooms(roomDeps(storage).deps, 60_000);
    const room = await rooms.acquire(spaceId);
    await expect(room.change((doc) => doc.getMap('m').set('k', 1))).rejects.toThrow();
    expect(rooms.isLoaded(spaceId)).toBe(false);
    rooms.release(room);
    const fresh = await rooms.acquire(spaceId);
    expect(fresh).not.toBe(room);
    await rooms.closeAll();
  });
});
