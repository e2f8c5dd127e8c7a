import { EnvelopeKind, type SpaceId } from '@mend/protocol';
import { ObservableV2 } from 'lib0/observable';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { restorePlatformSigningKeys } from '../crypto.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { LocalSpaceStore, type LoadedSpace } from '../local/LocalSpaceStore.js';
import { toLocalStoreError, type LocalStoreError } from '../local/LocalStoreError.js';
import { fetchCandidateKeys } from './epochBoxes.js';
import type { HeldSource } from './heldChanges.js';
import type { ApiOptions } from './http.js';
import { noSecrets, openLocalCopy, type LocalCopy } from './localCopy.js';
import {
  decodeMembership,
  encodeMembership,
  readMembership,
  type StoredMembership,
} from './membershipCodec.js';
import { kindOf, Outbox } from './Outbox.js';
import type { PageLocks } from './pageLocks.js';
import type { ProviderEvents, ProviderOptions, SocketLike } from './providerTypes.js';
import { SealedProvider } from './SealedProvider.js';
import { REMOTE, SealedReplica, type SetAside } from './SealedReplica.js';
import type { SealedMembership } from './sealedSpaces.js';
import { SessionWrites } from './SessionWrites.js';
import { SeatReveals } from './SeatReveals.js';
import { newSeatSecret } from '../reveal.js';

export interface SealedSessionOptions {
  spaceId: SpaceId;
  /** The app's document; the session applies the stored state into it. */
  doc: Y.Doc;
  awareness: Awareness | null;
  /** `new WebSocket(url, [SEALED_SUBPROTOCOL])` in the browser (cookie), `ws` with Bearer in Node. */
  openSocket: () => SocketLike;
  /** Defaults to `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
  reconnectDelay?: ProviderOptions['reconnectDelay'];
  /** Whether to connect at once (the default); false opens the space from the device alone. */
  connect?: boolean;
  /**
   * The copy already read into `doc` with `openLocalCopy` (a screen shows it while this code
   * loads); read here when absent.
   */
  local?: LocalCopy;
  /** Milliseconds received updates wait to be written together; 100 by default. */
  savePauseMs?: number;
  /** Milliseconds a change waits before due answer keys are published; 50 by default. */
  revealPauseMs?: number;
  /**
   * How this device's pages agree which one seals the changes held on a stream while not
   * connected (docs/protocol.md, "Changes made offline"): the browser's Web Locks by default.
   * Null, or none where the session runs: every change is sealed as it is made.
   */
  locks?: PageLocks | null;
  /**
   * How the session reaches the server over HTTP (the page's own origin and `fetch` by default):
   * for the epoch boxes of a key change this device was away for.
   */
  api?: ApiOptions;
}

export type SessionEvents = ProviderEvents & {
  /** Whether every local change so far is committed to IndexedDB, each time that changes. */
  saved: (savedOnDevice: boolean) => void;
  /** A write to the device's store failed; the space keeps working in memory. */
  'storage-problem': (error: LocalStoreError) => void;
  /** An answer's key could not be published (a damaged reveal); the space keeps working. */
  'reveal-problem': (error: unknown) => void;
};

type StoreOptions = { indexedDB?: IDBFactory };

const forwarded = [
  'status',
  'set-aside',
  'tamper',
  'paused',
  'receipt',
  'waiting',
  'snapshot',
  'carried',
] as const;

/**
 * A sealed space open on this device: its document loaded from IndexedDB (`LocalSpaceStore`),
 * its replica restored where it stood (so `hello` asks only for what is new), and a provider
 * whose outbox and received updates are written back as they happen (`SessionWrites`). The
 * space keeps working in memory when the store fails; `storage-problem` says so.
 */
export class SealedSession extends ObservableV2<SessionEvents> {
  readonly membership: SealedMembership;
  readonly replica: SealedReplica;
  readonly provider: SealedProvider;
  /** This partner's answers to reveals: answering, reading, publishing keys when due. */
  readonly reveals: SeatReveals;
  readonly #store: LocalSpaceStore;
  readonly #writes: SessionWrites;
  /** What holds changes made offline, once loaded (storedHeld.ts). */
  #held: Promise<{ letGo(): void }> | null = null;
  readonly #doc: Y.Doc;
  readonly #onUpdate: (update: Uint8Array, origin: unknown) => void;
  #closing: Promise<void> | null = null;
  /** What `saved` said last. */
  #saved = true;
  /** Epoch boxes the server did not take yet (`leaveBoxesLater`), sent again once synced. */
  readonly #boxesToLeave: (() => Promise<void>)[] = [];

  /**
   * Opens the space stored on this device. Rejects with a LocalStoreError when the store cannot
   * be read, or a SealedError: `noSecrets` when this device holds no membership of the space,
   * `malformed` / `badKey` when the stored one cannot be used.
   */
  static async open(options: SealedSessionOptions): Promise<SealedSession> {
    const local = options.local ?? (await openLocalCopy(options.spaceId, options.doc, options));
    try {
      if (local.loaded.secrets === null) throw noSecrets();
      const stored = decodeMembership(local.loaded.secrets);
      if (stored.spaceId !== options.spaceId) {
        throw new SealedError(SealedErrorReason.malformed, 'The stored keys are another space’s.');
      }
      const seated = hasSeatSecret(stored) ? stored : await withSeatSecret(local.store);
      const membership = await withPlatformSigning(local.store, seated, local.loaded.signingKey);
      return new SealedSession(options, local, membership);
    } catch (error) {
      local.store.close();
      throw error;
    }
  }

  /**
   * Keeps a membership (after create or join, before `open`), sealed at rest, with the signing
   * key the platform holds for it, if any (a signing key stored for an earlier one goes).
   */
  static async saveMembership(
    membership: SealedMembership,
    options: StoreOptions = {},
  ): Promise<void> {
    const store = await LocalSpaceStore.open(membership.spaceId, options);
    try {
      const { platformKey } = membership.identity.signing;
      await store.saveSecrets(encodeMembership(membership), platformKey ?? null);
    } finally {
      store.close();
    }
  }

  /** Deletes everything this device keeps of the space, its keys included. */
  static async forget(spaceId: SpaceId, options: StoreOptions = {}): Promise<void> {
    const store = await LocalSpaceStore.open(spaceId, options);
    await store.destroy();
  }

  private constructor(
    options: SealedSessionOptions,
    local: LocalCopy,
    membership: SealedMembership,
  ) {
    super();
    const { store, loaded } = local;
    this.membership = membership;
    this.#store = store;
    this.#doc = options.doc;
    this.replica = restoreReplica(options.doc, membership, loaded);
    this.#writes = new SessionWrites(
      store,
      this.replica,
      {
        saved: () => this.#tellSaved(),
        problem: (error) => this.emit('storage-problem', [error]),
      },
      { pauseMs: options.savePauseMs ?? 100, storedSince: loaded.replica?.since ?? 0 },
    );
    const outbox = new Outbox(loaded.outbox, {
      put: (entry, update) =>
        kindOf(entry.envelope) === EnvelopeKind.carried
          ? this.#writes.carried(entry)
          : this.#writes.local(entry, update),
      drop: (stream, counter) => this.#writes.acknowledged(stream, counter),
    });
    this.#onUpdate = (update, origin) => {
      if (origin === REMOTE) this.#writes.received(update);
    };
    options.doc.on('update', this.#onUpdate);
    const held: HeldSource = {
      earlier: loaded.held,
      load: () => {
        const loading = import('./storedHeld.js').then(({ storedHeld }) =>
          storedHeld({
            spaceId: membership.spaceId,
            store,
            writes: this.#writes,
            locks: options.locks,
            earlier: loaded.held,
          }),
        );
        this.#held = loading;
        return loading;
      },
    };
    this.provider = new SealedProvider({
      replica: this.replica,
      awareness: options.awareness,
      identity: membership.identity,
      keyring: membership.keyring,
      outbox,
      openSocket: options.openSocket,
      partnerId: membership.partnerId,
      ...(options.reconnectDelay ? { reconnectDelay: options.reconnectDelay } : {}),
      connect: false,
      unsent: local.takeUnsent(),
      carry: loaded.carry,
      held,
      candidateKeys: () => fetchCandidateKeys(membership, options.api ?? {}),
    });
    this.provider.on('carried', (sealed) => {
      // A carried envelope was stored through the outbox, with the copy forgotten.
      if (!sealed) this.#writes.carried(null);
    });
    this.provider.on('receipt', (receipt) => {
      // A new key taken from the log is kept with the device's other secrets at once.
      // A snapshot's statements may bring keys too (a key change this device was away for).
      if ((receipt.kind === 'epoch' && receipt.keyHeld) || receipt.kind === 'snapshot') {
        void this.keepKeys();
      }
    });
    this.provider.on('status', (status) => {
      if (status.kind === 'synced') void this.#leaveBoxes();
    });
    // A change waiting for its signature is not saved yet either.
    this.provider.on('waiting', () => this.#tellSaved());
    for (const name of forwarded) {
      this.provider.on(name, (...args: unknown[]) => {
        // The replica moved (an envelope taken in, positions passed over): its state follows.
        if (name === 'receipt' || name === 'tamper') this.#writes.receivedLater();
        (this.emit as (n: string, a: unknown[]) => void)(name, args);
      });
    }
    this.reveals = new SeatReveals(options.doc, {
      spaceId: membership.spaceId,
      partnerId: membership.partnerId,
      seatSecret: membership.seatSecret,
      pauseMs: options.revealPauseMs ?? 50,
      problem: (error) => this.emit('reveal-problem', [error]),
    });
    if (options.connect ?? true) this.provider.connect();
  }

  /** Envelopes sealed on this device and not yet acknowledged by the server. */
  get waiting(): number {
    return this.provider.waiting;
  }

  /** Whether every local change so far is committed to IndexedDB (none waits to be signed). */
  get savedOnDevice(): boolean {
    return this.#writes.savedOnDevice && this.provider.signing === 0;
  }

  setAside(): readonly SetAside[] {
    return this.replica.setAside;
  }

  connect(): void {
    this.provider.connect();
  }

  disconnect(): void {
    this.provider.disconnect();
  }

  /**
   * Stores every space key this session's keyring holds with the device's secrets (sealed at
   * rest), added to what is stored: another tab's keys are kept, and nothing else changes. Runs
   * by itself when the log brings a new key; `removeDevice` awaits it for the key it made. A
   * store that fails is reported as `storage-problem`; the key stays in memory.
   */
  async keepKeys(): Promise<void> {
    const keyring = this.membership.keyring;
    try {
      await this.#store.updateSecrets((current) => {
        if (current === null) return null;
        const stored = decodeMembership(current);
        let added = false;
        for (const { epoch } of keyring.toStored().epochs) {
          if (stored.keyring.get(epoch)) continue;
          stored.keyring.add(epoch, keyring.get(epoch)!.spaceKey);
          added = true;
        }
        if (!added || stored.seatSecret === null) return null;
        return encodeMembership({ ...stored, seatSecret: stored.seatSecret });
      });
    } catch (error) {
      if (error instanceof SealedError) return; // stored secrets that do not read: left as they are
      this.emit('storage-problem', [toLocalStoreError(error)]);
    }
  }

  /**
   * Epoch boxes the server did not take when this device changed the keys (`removeDevice`):
   * sent again each time the provider is synced anew (a reconnect), until the server takes
   * them, while this session is open (they are not stored: a reload forgets them).
   */
  leaveBoxesLater(leave: () => Promise<void>): void {
    this.#boxesToLeave.push(leave);
  }

  async #leaveBoxes(): Promise<void> {
    for (const leave of this.#boxesToLeave.splice(0)) {
      try {
        await leave();
      } catch {
        this.#boxesToLeave.push(leave); // the next sync tries again
      }
    }
  }

  /**
   * Writes what waits now, changes still waiting for their signature included (the page may be
   * going away: `SealedProvider.settle`); resolves once written (or, if the store fails, once it
   * gave up).
   */
  async flush(): Promise<void> {
    this.provider.settle();
    await this.#signed();
    return this.#writes.flush();
  }

  /** Says `saved` when whether every local change is saved on the device has changed. */
  #tellSaved(): void {
    const saved = this.savedOnDevice;
    if (saved === this.#saved) return;
    this.#saved = saved;
    this.emit('saved', [saved]);
  }

  /**
   * What the platform is signing goes into the outbox first: a fraction of a millisecond, but a
   * platform that keeps refusing is waited for no longer than `SIGNED_WAIT_MS`.
   */
  #signed(): Promise<void> {
    if (this.provider.signing === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, SIGNED_WAIT_MS);
      void this.provider.signed().then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Closes the socket, writes what waits and closes the store; the data stays on the device. */
  override destroy(): Promise<void> {
    this.#closing ??= (async () => {
      this.reveals.destroy();
      this.provider.destroy();
      this.#doc.off('update', this.#onUpdate);
      await this.#signed();
      await this.#writes.flush();
      // Only now may another page seal what this one held: its writes are all in.
      (await this.#held?.catch(() => null))?.letGo();
      this.#store.close();
      super.destroy();
    })();
    return this.#closing;
  }
}

/** How long closing or flushing waits at most for the platform's signatures. */
const SIGNED_WAIT_MS = 2000;

function hasSeatSecret(m: StoredMembership): m is SealedMembership {
  return m.seatSecret !== null;
}

/**
 * A membership stored before seat secrets existed gets one, stored with it before anything is
 * sealed with it. Tabs opening the space at the same moment would each make one: the store's
 * compare-and-set keeps the first stored and hands it to all, so no answer is sealed with a
 * secret that is then lost.
 */
async function withSeatSecret(store: LocalSpaceStore): Promise<SealedMembership> {
  const bytes = await store.updateSecrets((current) => {
    const m = current === null ? null : readMembership(current);
    return m && !hasSeatSecret(m) ? encodeMembership({ ...m, seatSecret: newSeatSecret() }) : null;
  });
  if (bytes === null) throw noSecrets();
  const membership = decodeMembership(bytes);
  if (!hasSeatSecret(membership)) {
    throw new SealedError(SealedErrorReason.malformed, 'The stored keys have no seat secret.');
  }
  return membership;
}

/**
 * The membership with its signing key held by the platform alone, where the platform has
 * Ed25519 (docs/security.md, "Keys on the device"): a device that still keeps the key's bytes
 * hands them over once (`handSigningKeyOver`); later pages read the stored key back, checked
 * against the public key. A platform without Ed25519 leaves the bytes where they were.
 */
async function withPlatformSigning(
  store: LocalSpaceStore,
  membership: SealedMembership,
  kept: CryptoKey | null,
): Promise<SealedMembership> {
  let m = membership;
  if (m.identity.signing.secretKey !== null) {
    const { handSigningKeyOver } = await import('./signingHandover.js');
    const handed = await handSigningKeyOver(store, m);
    if (handed === null) return m;
    if (!hasSeatSecret(handed.membership)) throw noSecrets();
    m = handed.membership;
    kept = handed.signingKey;
  }
  const signing = kept && (await restorePlatformSigningKeys(m.identity.signing.publicKey, kept));
  if (!signing) {
    throw new SealedError(
      SealedErrorReason.badKey,
      'This device’s signing key for the space is missing from its storage, or damaged.',
    );
  }
  return { ...m, identity: { ...m.identity, signing } };
}

/**
 * The replica where the store left it. A stored state that cannot be read costs a full download
 * (a fresh replica verifies the log from seq 0), not the space: the document and outbox are
 * stored apart from it.
 */
function restoreReplica(
  doc: Y.Doc,
  membership: SealedMembership,
  loaded: LoadedSpace,
): SealedReplica {
  const options = {
    doc,
    keyring: membership.keyring,
    creator: membership.creator,
    identity: membership.identity,
  };
  if (loaded.replica === null) return new SealedReplica(options);
  try {
    const replica = SealedReplica.restore(options, loaded.replica.state);
    if (replica.since === loaded.replica.since) return replica;
    return new SealedReplica(options);
  } catch (error) {
    if (!(error instanceof SealedError)) throw error;
    return new SealedReplica(options);
  }
}
