import type { PartnerId, SpaceId } from '@mend/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Access } from '../access.js';
import { memoryStorage } from './memoryStorage.js';
import { SpaceConnection } from './SpaceConnection.svelte.js';
import { freshSpaceId as freshId, until } from './testing.svelte.js';

const partnerId = 'partner_alex_000000' as PartnerId;
const freshSpaceId = () => freshId('space_test');

function open(spaceId: SpaceId, storage: Storage): SpaceConnection {
  return new SpaceConnection({
    spaceId,
    partnerId,
    displayName: 'Alex',
    connect: false,
    storage,
  });
}

describe('a device running out of storage', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('says so when the browser reports the storage for this site almost full', async () => {
    vi.stubGlobal('navigator', {
      storage: {
        persist: () => Promise.resolve(false),
        estimate: () => Promise.resolve({ usage: 99_000_000, quota: 100_000_000 }),
      },
    });
    const connection = open(freshSpaceId(), memoryStorage());
    await until(() => connection.storageProblem === 'quota');
    expect(connection.storageProblem).toBe('quota');
    connection.destroy();
  });
});

describe('a space on this device', () => {
  it('opens with what was written before the page was closed (IndexedDB copy)', async () => {
    const spaceId = freshSpaceId();
    const storage = memoryStorage();
    const first = open(spaceId, storage);
    await until(() => first.loaded);
    first.doc.getText('note').insert(0, 'written offline');
    await until(() => first.savedOnDevice);
    first.destroy();

    const second = open(spaceId, storage);
    await until(() => second.loaded);
    expect(second.doc.getText('note').toString()).toBe('written offline');
    second.destroy();
  });

  it('counts changes made while not connected as waiting, across a reload', async () => {
    const spaceId = freshSpaceId();
    const storage = memoryStorage();
    const first = open(spaceId, storage);
    await until(() => first.loaded);
    first.doc.getMap('m').set('a', 1);
    first.doc.getMap('m').set('b', 2);
    expect(first.waiting).toBe(2);
    expect(first.status).toEqual({ kind: 'offline', waiting: 2 });
    await until(() => first.savedOnDevice);
    first.destroy();

    const second = open(spaceId, storage);
    await until(() => second.loaded);
    expect(second.waiting).toBe(2);
    second.destroy();
  });

  it('keeps two spaces apart on one device', async () => {
    const storage = memoryStorage();
    const a = open(freshSpaceId(), storage);
    const b = open(freshSpaceId(), storage);
    await until(() => a.loaded && b.loaded);
    a.doc.getText('t').insert(0, 'only in a');
    await until(() => a.savedOnDevice);
    expect(b.doc.getText('t').toString()).toBe('');
    a.destroy();
    b.destroy();
  });

  it('says "loading" until the local copy is read', () => {
    const connection = open(freshSpaceId(), memoryStorage());
    expect(connection.status.kind).toBe('loading');
    connection.destroy();
  });
});

/**
 * Stands in for the browser's WebSocket so a test can close it with a chosen code; the real
 * server's 4507 is covered by tests/integration/limits.test.ts.
 */
class ScriptedSocket {
  static made: ScriptedSocket[] = [];
  binaryType = 'arraybuffer';
  onopen: (() => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onmessage: ((event: { data: ArrayBuffer }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: Uint8Array[] = [];

  constructor() {
    ScriptedSocket.made.push(this);
  }

  send(data: Uint8Array): void {
    this.sent.push(data);
  }

  close(): void {}

  closeFromServer(code: number): void {
    this.onclose?.({ code, reason: '' });
  }
}

describe('a space the server says is full', () => {
  afterEach(() => {
    vi.useRealTimers();
    ScriptedSocket.made.length = 0;
  });

  /** `access`: what the server says when asked whether this device still belongs. */
  function connected(
    access: () => Access = () => ({ kind: 'allowed', partnerId, sealed: false }),
  ): SpaceConnection {
    return new SpaceConnection({
      spaceId: freshSpaceId(),
      partnerId,
      displayName: 'Alex',
      persist: false,
      storage: memoryStorage(),
      serverUrl: 'ws://mend.test/sync',
      checkAccess: () => Promise.resolve(access()),
      WebSocketPolyfill: ScriptedSocket as unknown as typeof WebSocket,
    });
  }

  it('keeps the local copy, says so, and does not reconnect by itself', async () => {
    vi.useFakeTimers();
    const connection = connected();
    await vi.advanceTimersByTimeAsync(0);
    const socket = ScriptedSocket.made[0]!;
    socket.onopen?.();
    connection.doc.getText('note').insert(0, 'the change the server refused');
    socket.closeFromServer(4507);

    expect(connection.spaceFull).toBe(true);
    expect(connection.status).toEqual({ kind: 'full', waiting: 1 });
    expect(connection.refusal).toBeNull();
    await vi.advanceTimersByTimeAsync(60 * 60 * 1000);
    expect(ScriptedSocket.made).toHaveLength(1);
    expect(connection.doc.getText('note').toString()).toBe('the change the server refused');

    // "Try again", once the operator made room: one new socket, and the notice steps aside.
    connection.reconnect();
    await vi.advanceTimersByTimeAsync(0);
    expect(ScriptedSocket.made).toHaveLength(2);
    expect(connection.spaceFull).toBe(false);
    connection.destroy();
  });

  it('says at once that this device was removed (4401), and does not knock again', async () => {
    vi.useFakeTimers();
    const connection = connected();
    await vi.advanceTimersByTimeAsync(0);
    ScriptedSocket.made[0]!.onopen?.();
    ScriptedSocket.made[0]!.closeFromServer(4401);
    expect(connection.refusal).toBe('not-member');
    expect(connection.status).toEqual({ kind: 'refused', refusal: 'not-member' });
    await vi.advanceTimersByTimeAsync(60 * 60 * 1000);
    expect(ScriptedSocket.made).toHaveLength(1);
    connection.destroy();
  });

  it('says the server cannot be reached while tries fail, until a refusal, which is for good', async () => {
    vi.useFakeTimers();
    let access: Access = { kind: 'allowed', partnerId, sealed: false };
    const connection = connected(() => access);
    await vi.advanceTimersByTimeAsync(0);
    // Refused before it opened: the app asks the server, which says this device belongs.
    ScriptedSocket.made[0]!.closeFromServer(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(connection.link).toEqual({ kind: 'unreachable' });
    expect(connection.status).toEqual({ kind: 'unreachable', waiting: 0 });
    // The next try fails too: still unreachable, not "syncing" in between.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ScriptedSocket.made).toHaveLength(2);
    expect(connection.status.kind).toBe('unreachable');
    // "Try again" does not pretend either; then the server says the space is gone.
    connection.reconnect();
    expect(connection.status.kind).toBe('unreachable');
    access = { kind: 'deleted' };
    ScriptedSocket.made.at(-1)!.closeFromServer(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(connection.status).toEqual({ kind: 'refused', refusal: 'deleted' });
    connection.reconnect();
    ScriptedSocket.made.at(-1)!.closeFromServer(4507);
    expect(connection.status).toEqual({ kind: 'refused', refusal: 'deleted' });
    connection.destroy();
  });

  it('reconnects by itself after "too much at once" (1013), unlike a full space', async () => {
    vi.useFakeTimers();
    const connection = connected();
    await vi.advanceTimersByTimeAsync(0);
    ScriptedSocket.made[0]!.onopen?.();
    ScriptedSocket.made[0]!.closeFromServer(1013);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ScriptedSocket.made.length).toBeGreaterThan(1);
    expect(connection.spaceFull).toBe(false);
    connection.destroy();
  });
});

describe("this device's presence", () => {
  it('publishes nothing while withdrawn, and comes back as who this person is now', () => {
    const connection = open(freshSpaceId(), memoryStorage());
    connection.presence.setShown(false);
    expect(connection.awareness.getLocalState()).toBeNull();
    // Focus and a rename while withdrawn must not bring a state back.
    connection.presence.setFocus({ kind: 'agreement', id: 'agreement_00000001' });
    connection.presence.setUser({ partnerId, name: 'Alexandra', color: '#aa3355' });
    expect(connection.awareness.getLocalState()).toBeNull();

    connection.presence.setShown(true);
    expect(connection.awareness.getLocalState()).toEqual({
      user: { partnerId, name: 'Alexandra', color: '#aa3355' },
    });
    connection.destroy();
  });
});
