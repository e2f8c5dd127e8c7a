import { CloseCode, type SpaceId } from '@mend/protocol';
import type { Limits } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { Room, type RoomDeps } from './Room.js';

/**
 * How often what rooms hold is measured against the cap. Reading every room's estimate is a
 * getter each, so this can be frequent: memory grows between two checks by what wakes meanwhile.
 */
const MEMORY_CHECK_MS = 500;

/** What the registry needs of a room: a plaintext Room or a sealed one. */
export interface ManagedRoom {
  readonly spaceId: SpaceId;
  /** An estimate of the memory it holds (see fitMemory). */
  readonly heldBytes: number;
  /** Whether it holds a live document (or a pending write) that sleeping would drop. */
  readonly isAwake: boolean;
  /** When it was last used, by the room's clock. */
  readonly lastActive: number;
  sleepIfIdle(idleMs: number): boolean;
  /** After a pub/sub outage: catch up with storage. Never rejects. */
  resyncFromStorage(): Promise<void>;
  /** Closes its sockets with `code` and waits for pending writes. */
  close(code?: CloseCode): Promise<void>;
  /** `failed`: once, when it broke (storage failed); the registry forgets it. */
  on(event: 'failed', listener: () => void): () => void;
}

/** How the registry loads one kind of room, and what it tells when it forgets one. */
export interface RoomSource<R extends ManagedRoom> {
  load(spaceId: SpaceId): Promise<R>;
  /** The space's room was forgotten (unloaded or failed). */
  forget(spaceId: SpaceId): void;
  metrics: Metrics;
  log: Logger;
  limits: Pick<Limits, 'roomSleepAfterMs'>;
  /** Told what the rooms hold after each fitMemory (the `mend_room_held_bytes` gauge). */
  reportHeldBytes?: (bytes: number) => void;
}

/** Plaintext rooms (Room over a DocStore). */
export function documentRooms(deps: RoomDeps): RoomSource<Room> {
  return {
    load: (spaceId) => Room.load(spaceId, deps),
    forget: (spaceId) => deps.docStore.forget(spaceId),
    reportHeldBytes: (bytes) => deps.metrics.liveBytes.set(bytes),
    metrics: deps.metrics,
    log: deps.log,
    limits: deps.limits,
  };
}

interface Entry<R extends ManagedRoom> {
  loading: Promise<R>;
  room: R | null;
  /** Sockets and server-side changes currently using the room. */
  holders: number;
  unloadTimer: NodeJS.Timeout | null;
}

/**
 * The loaded rooms of this process, one per space. A room is loaded on first use, shared while
 * anyone holds it, and unloaded `graceMs` after the last holder lets go; a room that fails or
 * fails to load is forgotten at once, so the next use starts from storage. What the rooms hold
 * together is kept under `maxLiveBytes` (see fitMemory).
 */
export class Rooms<R extends ManagedRoom = Room> {
  readonly #deps: RoomSource<R>;
  readonly #metrics: Metrics;
  readonly #graceMs: number;
  readonly #maxLiveBytes: number;
  readonly #entries = new Map<SpaceId, Entry<R>>();
  #closed = false;

  readonly #sleepTimer: NodeJS.Timeout;
  readonly #memoryTimer: NodeJS.Timeout;

  constructor(
    deps: RoomSource<R>,
    graceMs: number,
    sleepAfterMs = deps.limits.roomSleepAfterMs,
    maxLiveBytes = Number.POSITIVE_INFINITY,
  ) {
    this.#deps = deps;
    this.#metrics = deps.metrics;
    this.#graceMs = graceMs;
    this.#maxLiveBytes = maxLiveBytes;
    // One sweep for all rooms rather than a timer per room: timers cost memory too.
    this.#sleepTimer = setInterval(
      () => this.sleepIdle(sleepAfterMs),
      Math.max(250, sleepAfterMs / 2),
    );
    this.#sleepTimer.unref();
    this.#memoryTimer = setInterval(() => this.fitMemory(), MEMORY_CHECK_MS);
    this.#memoryTimer.unref();
  }

  /**
   * Brings the estimate of what rooms hold under the cap: the least recently used rooms drop
   * their live documents first, and if that is not enough, the least recently used rooms that
   * no socket holds unload. The most recently used room is the one in use and is left alone,
   * so a space larger than the cap is still served; the cap governs the others. Returns the
   * estimate afterwards.
   */
  fitMemory(): number {
    const loaded: { spaceId: SpaceId; entry: Entry<R>; room: R }[] = [];
    let held = 0;
    for (const [spaceId, entry] of this.#entries) {
      if (!entry.room) continue;
      loaded.push({ spaceId, entry, room: entry.room });
      held += entry.room.heldBytes;
    }
    if (held > this.#maxLiveBytes) {
      loaded.sort((a, b) => a.room.lastActive - b.room.lastActive);
      const others = loaded.slice(0, -1);
      for (const { room } of others) {
        if (held <= this.#maxLiveBytes) break;
        if (!room.isAwake) continue;
        const before = room.heldBytes;
        if (this.#sleep(room)) {
          held += room.heldBytes - before;
          this.#metrics.memorySleeps.inc();
        }
      }
      for (const { spaceId, entry, room } of others) {
        if (held <= this.#maxLiveBytes) break;
        // Still awake after the pass above means a write is pending: a fresh load could miss it.
        if (entry.holders > 0 || room.isAwake) continue;
        held -= room.heldBytes;
        this.#forget(spaceId, entry);
        void room.close(CloseCode.goingAway);
        this.#metrics.memoryUnloads.inc();
      }
    }
    this.#deps.reportHeldBytes?.(held);
    return held;
  }

  /** Lets every room idle for `idleMs` drop its live document. Returns how many did. */
  sleepIdle(idleMs: number): number {
    let slept = 0;
    for (const entry of this.#entries.values()) {
      if (entry.room && this.#sleep(entry.room, idleMs)) slept += 1;
    }
    return slept;
  }

  #sleep(room: R, idleMs = 0): boolean {
    try {
      return room.sleepIfIdle(idleMs);
    } catch (error) {
      // Staying awake is harmless; a timer callback must never throw.
      this.#deps.log.warn({ err: error, spaceId: room.spaceId }, 'a room could not sleep');
      return false;
    }
  }

  isLoaded(spaceId: SpaceId): boolean {
    return this.#entries.has(spaceId);
  }

  /** The space's room if it is loaded and open to use now (not while it loads), else null. */
  loaded(spaceId: SpaceId): R | null {
    return this.#entries.get(spaceId)?.room ?? null;
  }

  /** Loads (or shares) the space's room. Every successful acquire needs one `release`. */
  async acquire(spaceId: SpaceId): Promise<R> {
    if (this.#closed) throw new Error('the server is shutting down');
    let entry = this.#entries.get(spaceId);
    if (!entry) entry = this.#load(spaceId);
    entry.holders += 1;
    if (entry.unloadTimer) {
      clearTimeout(entry.unloadTimer);
      entry.unloadTimer = null;
    }
    try {
      return await entry.loading;
    } catch (error) {
      entry.holders -= 1;
      throw error;
    }
  }

  release(room: R): void {
    const entry = this.#entries.get(room.spaceId);
    if (!entry || entry.room !== room) return;
    entry.holders -= 1;
    if (entry.holders > 0 || entry.unloadTimer) return;
    entry.unloadTimer = setTimeout(() => {
      entry.unloadTimer = null;
      if (entry.holders > 0 || this.#entries.get(room.spaceId) !== entry) return;
      this.#forget(room.spaceId, entry);
      void room.close(CloseCode.goingAway);
    }, this.#graceMs);
    entry.unloadTimer.unref();
  }

  /** Runs `use` with the space's room held, releasing it however `use` ends. */
  async with<T>(spaceId: SpaceId, use: (room: R) => Promise<T>): Promise<T> {
    const room = await this.acquire(spaceId);
    try {
      return await use(room);
    } finally {
      this.release(room);
    }
  }

  /** After a pub/sub outage: every loaded room re-reads storage. */
  resyncAll(): void {
    for (const entry of this.#entries.values()) void entry.room?.resyncFromStorage();
  }

  /** Closes every room (sockets get `code`) and waits for their pending writes. */
  async closeAll(code: CloseCode = CloseCode.goingAway): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sleepTimer);
    clearInterval(this.#memoryTimer);
    const closing: Promise<void>[] = [];
    for (const [spaceId, entry] of this.#entries) {
      this.#forget(spaceId, entry);
      closing.push(
        entry.loading.then(
          (room) => room.close(code),
          () => {},
        ),
      );
    }
    await Promise.all(closing);
  }

  #load(spaceId: SpaceId): Entry<R> {
    const entry: Entry<R> = {
      loading: this.#deps.load(spaceId),
      room: null,
      holders: 0,
      unloadTimer: null,
    };
    this.#entries.set(spaceId, entry);
    this.#metrics.loadedRooms.inc();
    entry.loading.then(
      (room) => {
        entry.room = room;
        room.on('failed', () => {
          if (this.#entries.get(spaceId) === entry) this.#forget(spaceId, entry);
        });
        // A space opened by a stranger must not wait for the next check to push others out.
        this.fitMemory();
      },
      () => {
        if (this.#entries.get(spaceId) === entry) this.#forget(spaceId, entry);
      },
    );
    return entry;
  }

  #forget(spaceId: SpaceId, entry: Entry<R>): void {
    if (entry.unloadTimer) clearTimeout(entry.unloadTimer);
    entry.unloadTimer = null;
    if (this.#entries.get(spaceId) !== entry) return;
    this.#entries.delete(spaceId);
    this.#metrics.loadedRooms.dec();
    this.#deps.forget(spaceId);
  }
}
