import * as Y from 'yjs';
import { fetchCandidateKeys } from './epochBoxes.js';
import type { ApiOptions } from './http.js';
import { Outbox } from './Outbox.js';
import type { ProviderOptions, SocketLike } from './providerTypes.js';
import { SealedProvider } from './SealedProvider.js';
import { SealedReplica } from './SealedReplica.js';
import type { SealedMembership } from './sealedSpaces.js';
import type { SealedSession } from './SealedSession.js';

/**
 * The space open as a device for a short while, in memory only: what a recovery needs of a
 * session (recoveryKit.ts) in the browser and in Node alike, with nothing kept on the device. A
 * `SealedSession` fits the same shape where the device should keep what it syncs.
 */
export type ShortSession = Pick<
  SealedSession,
  'membership' | 'provider' | 'replica' | 'keepKeys' | 'destroy'
>;

export interface MemorySessionOptions {
  /**
   * A socket to `/sync/<spaceId>` as `membership`'s device: `new WebSocket(url,
   * [SEALED_SUBPROTOCOL])` in the browser (the space's cookie), `ws` with its Bearer token in Node.
   */
  readonly openSocket: (membership: SealedMembership) => SocketLike;
  readonly reconnectDelay?: ProviderOptions['reconnectDelay'];
  /**
   * Where the device asks for its epoch boxes when the log starts with a snapshot under a key it
   * lacks (docs/protocol.md, "Catching up across a key change"): a recovery kit made before a
   * key change needs it. The page's own server by default.
   */
  readonly api?: ApiOptions;
}

/**
 * Opens the space as `membership`'s device with a fresh document, replica and outbox in memory,
 * connected at once. Its keys are the membership's: a key the log brings is added to its
 * keyring, and `keepKeys` keeps nothing (the caller stores the membership).
 */
export function openMemorySession(
  membership: SealedMembership,
  options: MemorySessionOptions,
): ShortSession {
  const doc = new Y.Doc();
  const { identity, keyring, creator, partnerId } = membership;
  const replica = new SealedReplica({ doc, keyring, creator, identity });
  const provider = new SealedProvider({
    replica,
    awareness: null,
    identity,
    keyring,
    outbox: new Outbox(),
    partnerId,
    openSocket: () => options.openSocket(membership),
    candidateKeys: () => fetchCandidateKeys(membership, options.api ?? {}),
    ...(options.reconnectDelay ? { reconnectDelay: options.reconnectDelay } : {}),
  });
  let destroyed = false;
  return {
    membership,
    replica,
    provider,
    keepKeys: () => Promise.resolve(),
    destroy: () => {
      if (!destroyed) {
        destroyed = true;
        provider.destroy();
        doc.destroy();
      }
      return Promise.resolve();
    },
  };
}
