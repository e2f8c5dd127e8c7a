// Test support only (excluded from the build): a sealed space with a fake server and a fake
// IndexedDB, and Alex's device opening SealedSessions on it as page loads would.
import { IDBFactory as FakeIDBFactory } from 'fake-indexeddb';
import * as Y from 'yjs';
import { newSeatSecret } from '../../reveal.js';
import { ProcessLocks, type PageLocks } from '../pageLocks.js';
import { SealedSession, type SealedSessionOptions } from '../SealedSession.js';
import type { SealedMembership } from '../sealedSpaces.js';
import { FakeServer } from './fakeServer.js';
import { ALEX, createdAndJoined, spaceId } from './sealedSpace.js';

export type SessionWorld = Awaited<ReturnType<typeof sessionWorld>>;

/**
 * Alex and Sam in a space; Alex's device keeps its membership in a fake IndexedDB, and its pages
 * share locks as a browser's tabs do.
 */
export async function sessionWorld() {
  const world = createdAndJoined();
  const factory = new FakeIDBFactory();
  const server = new FakeServer(world.space.log);
  const membership: SealedMembership = {
    spaceId,
    partnerId: ALEX,
    token: 'token',
    identity: world.alex.identity,
    keyring: world.alex.keyring,
    creator: world.space.creator.signing.publicKey,
    seatSecret: newSeatSecret(),
  };
  await SealedSession.saveMembership(membership, { indexedDB: factory });
  return { ...world, factory, server, membership, locks: new ProcessLocks() };
}

/** What a page load of Alex's device opens its session with. */
export function pageOptions(
  world: SessionWorld,
  more: Partial<SealedSessionOptions> = {},
): SealedSessionOptions {
  return {
    spaceId,
    doc: new Y.Doc(),
    awareness: null,
    openSocket: world.server.openSocket,
    indexedDB: world.factory,
    reconnectDelay: () => null,
    savePauseMs: 0,
    locks: world.locks,
    ...more,
  };
}

/**
 * A page load of Alex's device; `opened` collects sessions for closing after the test. What
 * holds changes is loaded at once (`pageOptions` alone leaves that to the page, as the app does).
 */
export function pageOf(
  world: SessionWorld,
  opened: SealedSession[],
  more: Partial<SealedSessionOptions> = {},
): Promise<SealedSession> {
  return SealedSession.open(pageOptions(world, more)).then(async (session) => {
    opened.push(session);
    // Loaded on demand in a page (a change made offline, a socket closed); here at once.
    await session.provider.holdingReady();
    return session;
  });
}

/** A factory that hands every connection it opens to `seen` as well. */
export function watching(factory: IDBFactory, seen: IDBDatabase[]): IDBFactory {
  return {
    open(name: string, version?: number) {
      const request = factory.open(name, version);
      request.addEventListener('success', () => seen.push(request.result));
      return request;
    },
    deleteDatabase: (name: string) => factory.deleteDatabase(name),
    databases: () => factory.databases(),
    cmp: (a: unknown, b: unknown) => factory.cmp(a, b),
  };
}

/** The locks one page takes: `crash()` lets go of them all, as a page that dies does. */
export function pageLocks(shared: PageLocks): { locks: PageLocks; crash(): void } {
  const releases: (() => void)[] = [];
  return {
    locks: {
      take: async (name) => {
        const release = await shared.take(name);
        if (release) releases.push(release);
        return release;
      },
    },
    crash: () => {
      for (const release of releases.splice(0)) release();
    },
  };
}
