import {
  addPartner,
  initSpace,
  listAgreements,
  proposeAgreement,
  type PartnerId,
} from '@mend/model';
import type { SpaceId } from '@mend/protocol';
import {
  createSealedSpace,
  joinSealedSpace,
  openMemorySession,
  type SealedMembership,
  type ShortSession,
} from '@mend/sealed';
import { afterAll, beforeAll } from 'vitest';
import { Network } from './sealedClient.js';
import { startServer, withTimeout, type MendServer } from './server.js';

/**
 * A real server for a file's tests, and devices on it as in-memory sessions (`openMemorySession`,
 * over `ws` with their Bearer tokens): what the recovery kit and returning-to-a-seat tests share.
 * `useMemorySessions()` at a file's top level registers the hooks: the server starts before all
 * tests; after all, every session is destroyed and the server disposed.
 */
export interface MemorySessions {
  readonly server: MendServer;
  /** The space open as `membership`'s device, asking the server for its epoch boxes. */
  open(membership: SealedMembership): ShortSession;
  /** Alex creates the space and Sam joins, each on one device with their seat written. */
  couple(): Promise<{ spaceId: SpaceId; alex: ShortSession; sam: ShortSession }>;
}

export function useMemorySessions(): MemorySessions {
  let server: MendServer | undefined;
  const network = new Network();
  const sessions: ShortSession[] = [];

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.destroy()));
    await server?.dispose();
  });

  const running = (): MendServer => {
    if (!server) throw new Error('the server starts in beforeAll: use it inside a test');
    return server;
  };

  const open = (membership: SealedMembership): ShortSession => {
    const session = openMemorySession(membership, {
      openSocket: (m) => network.open(running(), m),
      reconnectDelay: () => 50,
      api: { baseUrl: running().url },
    });
    sessions.push(session);
    return session;
  };

  const seat = async (session: ShortSession, displayName: string, color: string) => {
    await until(() => session.provider.synced, `${displayName}’s first sync`);
    addPartner(session.replica.doc, {
      id: session.membership.partnerId,
      displayName,
      joinedAt: Date.now(),
      color,
    });
    await until(() => settled(session), `${displayName}’s seat to be stored`);
  };

  return {
    get server() {
      return running();
    },
    open,
    async couple() {
      const baseUrl = running().url;
      const created = await createSealedSpace({ baseUrl });
      const alex = open(created);
      await until(() => alex.provider.synced, 'Alex’s first sync');
      initSpace(alex.replica.doc, { name: 'Ours', createdAt: Date.now() });
      await seat(alex, 'Alex', '#aa3355');
      const joined = await joinSealedSpace(created.spaceId, created.inviteSecret, { baseUrl });
      const sam = open(joined);
      await seat(sam, 'Sam', '#3355aa');
      await until(() => alex.replica.since === sam.replica.since, 'Sam’s seat at Alex’s');
      return { spaceId: created.spaceId, alex, sam };
    },
  };
}

/** Resolves once `predicate()` holds (checked every 10 ms), or fails after 10 s. */
export function until(predicate: () => boolean, what: string): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      const check = () => (predicate() ? resolve() : setTimeout(check, 10));
      check();
    }),
    10_000,
    `timed out waiting for ${what}`,
  );
}

/** Synced, with nothing of its own waiting to be stored. */
export const settled = (s: ShortSession) => s.provider.synced && s.provider.waiting === 0;

/** The agreements' titles as this device's document has them. */
export const titles = (s: ShortSession) => listAgreements(s.replica.doc).map((a) => a.title);

/** Proposes an agreement as this device's partner. */
export function propose(session: ShortSession, title: string): void {
  const by = session.membership.partnerId as PartnerId;
  proposeAgreement(session.replica.doc, { title, body: `${title}, said plainly.`, by, at: 1 });
}
