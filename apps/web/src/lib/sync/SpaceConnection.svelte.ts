import { CloseCode, type PartnerId, type SpaceId } from '@mend/protocol';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { checkAccess, type Access } from '../access.js';
import { afterClose } from './backoff.js';
import { PendingChanges } from './PendingChanges.js';
import type { SealedSession, SeatReveals, SeatSecret } from '@mend/sealed';
import type { LocalCopy } from './sealedLocal.js';
import type { ListedDevice, SealedNotice, SealedSync } from './sealedSync.js';
import type { PlainSealing, SealingState } from './plainSealing.js';
import { watchBrowser } from './browserWatch.js';
import type { EngineHooks, SyncEngine } from './syncEngine.js';
import { LinkState, type Refusal, type ServerLink } from './serverLink.svelte.js';
import { Presence } from './Presence.svelte.js';

/** What the always-visible sync indicator shows. */
export type SyncStatus =
  | { kind: 'loading' }
  | { kind: 'syncing' }
  | { kind: 'synced' }
  | { kind: 'offline'; waiting: number }
  /** The browser is online but the Mend server cannot be reached (down, or a captive network). */
  | { kind: 'unreachable'; waiting: number }
  /** The server refused a change because the space reached its size limit (4507). */
  | { kind: 'full'; waiting: number }
  /** A newer Mend changed the space's rules: nothing syncs until this one is updated. */
  | { kind: 'paused'; waiting: number }
  | { kind: 'refused'; refusal: Refusal };

export type StorageProblem = 'quota' | 'unavailable';

export interface SpaceConnectionOptions {
  spaceId: SpaceId;
  partnerId: PartnerId;
  displayName: string;
  color?: string;
  /** `ws(s)://host/sync`; defaults to this page's origin. */
  serverUrl?: string;
  /** false: never open a socket (tests, or a device the server refused). */
  connect?: boolean;
  /** false: keep the document in memory only (tests). */
  persist?: boolean;
  storage?: Storage;
  checkAccess?: (spaceId: SpaceId) => Promise<Access>;
  WebSocketPolyfill?: typeof WebSocket;
  /**
   * End-to-end encrypted (docs/protocol.md): the sealed client (loaded on demand) keeps the local
   * copy and the socket instead of y-indexeddb and y-websocket.
   */
  sealed?: boolean;
}

/**
 * One open space on this device: the Y.Doc, its IndexedDB copy, the socket to the server and
 * the state a person needs to see (synced / syncing / offline with N changes waiting / refused).
 *
 * The sync itself is an engine loaded on demand: the sealed client (sealedLocal.ts, then
 * sealedSync.ts) for an end-to-end encrypted space, y-websocket and y-indexeddb (plainSync.ts)
 * for one made before. Engines never retry by themselves: each closed socket comes here, and a
 * jittered retry is scheduled (serverLink.svelte.ts) unless the server said not to.
 */
export class SpaceConnection {
  readonly spaceId: SpaceId;
  readonly partnerId: PartnerId;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  /** Who else has this space open, and what this device tells them about itself. */
  readonly presence: Presence;
  readonly sealed: boolean;

  /** The local copy has been read from IndexedDB (or there is none to read). */
  loaded = $state(false);
  /** The browser says it is online. */
  online = $state(true);
  storageProblem = $state<StorageProblem | null>(null);
  /** Another tab or window of this browser has the same space open. */
  otherTab = $state(false);
  /** Local changes not yet with the server, counted as a person counts them (PendingChanges). */
  waiting = $state(0);
  /** Every local change so far is committed to IndexedDB. */
  savedOnDevice = $state(true);
  /** Sealed spaces: changes kept out of the space and server misbehaviour, for both to see. */
  notices = $state<SealedNotice[]>([]);
  /** Sealed spaces: this device holds no usable keys for the space (its storage was cleared). */
  keysMissing = $state(false);
  /** Sealed spaces: the code both partners can compare, once both are in. */
  safetyCode = $state<string | null>(null);
  /** Sealed spaces: this device made the space, so it writes the space's first content. */
  isCreator = $state(false);
  /**
   * Sealed spaces, once their client has loaded: answering a reveal and reading its answers.
   * Null in a plaintext space, which has no seat secret to hide an answer with.
   */
  reveals = $state.raw<SeatReveals | null>(null);
  /**
   * Sealed spaces, once their client has loaded: the secret only this partner's devices hold,
   * which seals what they keep to themselves (privateCheckins.ts, loaded when needed).
   */
  seatSecret = $state.raw<SeatSecret | null>(null);
  /**
   * A space made before sealed spaces, on its way to being sealed from this device
   * (plainSealing.ts); null until its first sync, and for a sealed space.
   */
  sealing = $state.raw<SealingState | null>(null);
  /** Sealed spaces: the space's devices as the log admitted them, and which one is this. */
  devices = $state.raw<{ list: readonly ListedDevice[]; mine: string } | null>(null);

  readonly #link = new LinkState();
  #engine: SyncEngine | null = null;
  #sealedSync: SealedSync | null = null;
  readonly #connects: boolean;
  readonly #persists: boolean;
  #sealer: Promise<PlainSealing | null> | null = null;
  readonly #pending: PendingChanges;
  readonly #checkAccess: (spaceId: SpaceId) => Promise<Access>;
  readonly #cleanups: (() => void)[] = [];
  /** The socket opened since it last closed (a refused upgrade never opens it). */
  #opened = false;
  #destroyed = false;
  /** This device is leaving on its own (Settings): the server's 4401 is its own doing. */
  #leaving = false;
  #destroying: Promise<void> | null = null;

  constructor(options: SpaceConnectionOptions) {
    this.spaceId = options.spaceId;
    this.partnerId = options.partnerId;
    this.sealed = options.sealed === true;
    this.#connects = options.connect !== false;
    this.#persists = options.persist !== false;
    this.#checkAccess = options.checkAccess ?? checkAccess;
    const storage = options.storage ?? localStorage;
    this.#pending = new PendingChanges(options.spaceId, storage);
    this.waiting = this.#pending.count;

    this.doc = new Y.Doc();
    this.awareness = new Awareness(this.doc);
    this.presence = new Presence(this.awareness, {
      partnerId: options.partnerId,
      name: options.displayName,
      color: options.color ?? '#5b7f95',
    });

    if (typeof navigator !== 'undefined' && 'onLine' in navigator) this.online = navigator.onLine;

    const onUpdate = (_update: Uint8Array, origin: unknown) => {
      // Only what this person does counts: not what the server sent, not the stored copy (which
      // is read in before any engine is attached).
      const engine = this.#engine;
      if (!engine || engine.isRemote(origin)) return;
      const unsent = this.#sealedSync ? this.#sealedSync.waiting > 0 || !this.synced : !this.synced;
      if (unsent) this.waiting = this.#pending.add();
    };
    this.doc.on('update', onUpdate);
    this.#cleanups.push(() => this.doc.off('update', onUpdate));

    performance.mark('mend:local-copy-opening');
    // Each engine reads the local copy into the document first and says what follows once it
    // is shown: connecting, or for a sealed space loading the code that syncs it.
    const localReady = this.sealed ? this.#openSealed(options) : this.#openPlain(options);
    void localReady.then((next) => {
      this.loaded = true;
      performance.mark('mend:local-copy-loaded');
      next();
    });

    this.#cleanups.push(
      watchBrowser(options.spaceId, {
        online: () => {
          this.online = true;
          this.reconnect();
        },
        offline: () => {
          // An emulated or flaky offline can leave the old socket looking open; close it so the
          // screen says "offline" at once and changes are counted as waiting.
          this.online = false;
          this.#link.cancelRetry();
          this.#engine?.disconnect();
        },
        quota: () => {
          this.storageProblem = 'quota';
        },
        otherTab: (present) => {
          this.otherTab = present;
        },
        hiding: () => this.#engine?.settle?.(),
      }),
    );
  }

  /** Where this device stands with the server; `status` is what the screens make of it. */
  get link(): ServerLink {
    return this.#link.current;
  }

  get status(): SyncStatus {
    const link = this.link;
    if (link.kind === 'refused') return link;
    if (!this.loaded) return { kind: 'loading' };
    if (link.kind === 'full' || link.kind === 'paused') {
      return { kind: link.kind, waiting: this.waiting };
    }
    if (link.kind === 'synced') return link;
    if (!this.online || !this.#connects) return { kind: 'offline', waiting: this.waiting };
    if (link.kind === 'unreachable') return { kind: 'unreachable', waiting: this.waiting };
    return { kind: 'syncing' };
  }

  /** The socket is open and the server's state has been received. */
  get synced(): boolean {
    return this.link.kind === 'synced';
  }

  /** Why the server no longer syncs this space with this device, or null. */
  get refusal(): Refusal | null {
    return this.link.kind === 'refused' ? this.link.refusal : null;
  }

  /**
   * The server refused this device's change: the space reached its size limit. The device
   * keeps its copy and stops reconnecting until a person tries again (`reconnect`).
   */
  get spaceFull(): boolean {
    return this.link.kind === 'full';
  }

  /**
   * Sealed spaces: a newer Mend changed the rules this space is checked by, so this device
   * stopped syncing until it is updated (docs/protocol.md, "Rules versions").
   */
  get needsUpdate(): boolean {
    return this.link.kind === 'paused';
  }

  /** Stops trying to reach the server, e.g. because the person chose to work offline. */
  disconnect(): void {
    this.#link.cancelRetry();
    this.#engine?.disconnect();
  }

  reconnect(): void {
    if (this.refusal || this.#destroyed) return;
    this.#link.restart();
    this.#connect();
  }

  /**
   * Closes the socket and the local copy for good. Resolves once the engine let go of both (so
   * the copy's database can be deleted); calling it again returns the same promise.
   */
  destroy(): Promise<void> {
    if (this.#destroying) return this.#destroying;
    this.#destroyed = true;
    this.#link.cancelRetry();
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.awareness.setLocalState(null);
    const closing = this.#engine?.destroy() ?? Promise.resolve();
    this.awareness.destroy();
    this.doc.destroy();
    this.#destroying = closing;
    return closing;
  }

  /** What every engine reports back, turned into what the screens show. */
  #hooks(): EngineHooks {
    return {
      opened: () => {
        this.#opened = true;
      },
      synced: (synced) => {
        if (!synced) return this.#link.notSynced();
        this.#link.synced();
        // A plaintext space's changes are with the server once synced; a sealed space's once
        // its outbox is empty (`waiting` below).
        if (!this.#sealedSync) {
          this.#pending.clear();
          this.waiting = 0;
        }
        this.safetyCode = this.#sealedSync?.safetyCode() ?? null;
        this.refreshDevices();
        if (!this.sealed) void this.#plainSealing().then((sealer) => sealer?.check());
      },
      closed: (code) => this.#afterClose(code),
      saved: (saved) => {
        this.savedOnDevice = saved;
      },
      storageProblem: (kind) => {
        this.storageProblem = kind;
      },
    };
  }

  async #openPlain(options: SpaceConnectionOptions): Promise<() => void> {
    const { PlainSync } = await import('./plainSync.js');
    if (this.#destroyed) return () => {};
    const engine = new PlainSync({
      spaceId: options.spaceId,
      doc: this.doc,
      awareness: this.awareness,
      serverUrl: this.#serverUrl(options),
      persist: options.persist !== false,
      connect: this.#connects,
      hooks: this.#hooks(),
      ...(options.WebSocketPolyfill ? { WebSocketPolyfill: options.WebSocketPolyfill } : {}),
    });
    this.#engine = engine;
    await engine.localReady;
    // The socket opens once the local copy is in the document, so the first sync sends only
    // what the server lacks and the screen never flashes an empty space.
    return () => this.#connect();
  }

  /**
   * Opens a sealed space in two steps: its local copy first (resolves once it is in the document,
   * or once it is clear this device has no usable one), then, in the background, the sealed
   * client that checks, decrypts and syncs (its code is the larger part).
   */
  async #openSealed(options: SpaceConnectionOptions): Promise<() => void> {
    const { openLocalCopy } = await import('./sealedLocal.js');
    let local: LocalCopy;
    try {
      local = await openLocalCopy(options.spaceId, this.doc);
    } catch (error) {
      this.#cannotOpen(error);
      return () => {};
    }
    return () => void this.#startSealedSync(options, local);
  }

  async #startSealedSync(options: SpaceConnectionOptions, local: LocalCopy): Promise<void> {
    const { SealedSync } = await import('./sealedSync.js');
    if (this.#destroyed) {
      local.store.close();
      return;
    }
    let engine: SealedSync;
    try {
      engine = await SealedSync.open({
        spaceId: options.spaceId,
        local,
        doc: this.doc,
        awareness: this.awareness,
        serverUrl: this.#serverUrl(options),
        hooks: {
          ...this.#hooks(),
          waiting: (count) => {
            // Counted as a person counts changes, until the server has stored them all.
            if (count === 0) this.#pending.clear();
            this.waiting = count === 0 ? 0 : Math.max(1, this.#pending.count);
            this.safetyCode = this.#sealedSync?.safetyCode() ?? this.safetyCode;
            this.refreshDevices();
          },
          notice: (notice) => {
            this.notices = [...this.notices, notice];
          },
          needsUpdate: () => this.#link.to({ kind: 'paused' }),
        },
        ...(options.WebSocketPolyfill ? { WebSocketPolyfill: options.WebSocketPolyfill } : {}),
      });
    } catch (error) {
      this.#cannotOpen(error);
      return;
    }
    if (this.#destroyed) {
      void engine.destroy();
      return;
    }
    this.#engine = engine;
    this.#sealedSync = engine;
    this.isCreator = engine.isCreator;
    this.safetyCode = engine.safetyCode();
    this.reveals = engine.reveals;
    this.refreshDevices();
    this.seatSecret = engine.seatSecret;
    this.#connect();
  }

  /**
   * No keys on this device (its storage was cleared), keys it cannot read, or IndexedDB refused:
   * the space cannot be opened here, and nothing can be sent from here.
   */
  #cannotOpen(error: unknown): void {
    const reason =
      error instanceof Error && error.name === 'LocalStoreError' ? storeReason(error) : null;
    if (reason === 'quota' || reason === 'unavailable') {
      this.storageProblem = reason;
      return;
    }
    console.warn('Mend could not open this space’s keys on this device', error);
    this.keysMissing = true;
  }

  /** Sealed spaces, once their client is open: the session linking another device works through. */
  get sealedSession(): SealedSession | null {
    return this.#sealedSync?.session ?? null;
  }

  /**
   * "Remove Mend from this device" is under way: the 4401 its own request brings is expected, and
   * that flow clears the space and leaves the page (LeaveDevice.svelte), not the removed-device one.
   */
  leaving(): void {
    this.#leaving = true;
  }

  /** Reads the devices again from the log (the devices page asks while it is open). */
  refreshDevices(): void {
    const sync = this.#sealedSync;
    if (sync) this.devices = { list: sync.devices(), mine: sync.deviceKey };
  }

  /** Where the socket goes; not asked for when there will be no socket (tests). */
  #serverUrl(options: SpaceConnectionOptions): string {
    return this.#connects ? (options.serverUrl ?? defaultServerUrl()) : '';
  }

  #connect(): void {
    if (this.#destroyed || this.refusal || !this.#connects) return;
    // Offline, a sealed space stays closed and is told so: it holds what is written from now on
    // and seals it as one envelope once online (docs/protocol.md, "Changes made offline").
    if (!this.online) return this.#sealedSync?.disconnect();
    this.#engine?.connect();
  }

  /** Decides what follows a closed socket (backoff.ts) and schedules it. */
  #afterClose(code: number | undefined): void {
    this.#link.notSynced();
    const wasOpened = this.#opened;
    this.#opened = false;
    if (this.#destroyed || this.refusal) return;
    if (code === CloseCode.sealedNow) {
      this.#moveOver();
      return;
    }
    const next = afterClose(code, wasOpened, this.online);
    if (next === 'deleted' || next === 'revoked') {
      this.#refuse(next === 'deleted' ? 'deleted' : this.sealed ? 'removed' : 'not-member');
      return;
    }
    if (next === 'full') {
      // No timer: a person's "Try again" (or the browser coming back online) reconnects.
      this.#link.to({ kind: 'full' });
      return;
    }
    if (code === CloseCode.chainConflict) {
      // A sealed envelope the server says does not continue this device's chain: sending it
      // again as it is would be refused again. A reload starts a new stream.
      this.notices = [...this.notices, { kind: 'unsent', why: null, partnerId: null }];
      return;
    }
    if (next === 'ask-server') {
      if (this.link.kind === 'connecting') this.#link.to({ kind: 'unreachable' });
      // A refused upgrade looks like any network failure to a page (code 1006), so ask
      // the server plainly whether this device still belongs here.
      void this.#checkAccess(this.spaceId).then((access) => {
        if (access.kind === 'removed') this.#refuse(this.sealed ? 'removed' : 'not-member');
        else if (access.kind === 'deleted' || access.kind === 'not-member') {
          this.#refuse(access.kind);
        } else if (access.kind === 'allowed' && access.sealed && !this.sealed) this.#moveOver();
        else this.#scheduleRetry();
      });
      return;
    }
    this.#scheduleRetry();
  }

  /**
   * A space made before sealed spaces: loads what seals it from this device (its crypto is not
   * first-load code). Not for a sealed space, nor for a document kept in memory only (tests).
   */
  #plainSealing(): Promise<PlainSealing | null> {
    if (this.sealed || !this.#persists) return Promise.resolve(null);
    this.#sealer ??= import('./sealedSync.js')
      .then(({ loadPlainSealing }) => loadPlainSealing())
      .then(({ PlainSealing }) => {
        if (this.#destroyed) return null;
        const sealer = new PlainSealing({
          spaceId: this.spaceId,
          partnerId: this.partnerId,
          doc: this.doc,
          isRemote: (origin) => this.#engine?.isRemote(origin) ?? false,
          state: (state) => {
            this.sealing = state;
            // Nothing more goes out in plaintext; the page reopens the space sealed.
            if (state.kind === 'done') this.disconnect();
          },
        });
        this.#cleanups.push(() => sealer.stop());
        return sealer;
      });
    return this.#sealer;
  }

  /** The server says the space is sealed now: this device fetches its key and moves over. */
  #moveOver(): void {
    this.#link.cancelRetry();
    void this.#plainSealing().then((sealer) => sealer?.moveOver());
  }

  #refuse(refusal: Refusal): void {
    this.#link.to({ kind: 'refused', refusal });
    this.#engine?.disconnect();
    // A removed device clears the space at once and says so on a page of its own.
    if (refusal === 'removed' && !this.#leaving) {
      void import('./removedDevice.js').then((m) => m.clearRemovedDevice(this.spaceId, this));
    }
  }

  #scheduleRetry(): void {
    if (this.#destroyed || this.refusal || !this.online) return;
    this.#link.retry(() => this.#connect());
  }
}

function defaultServerUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/sync`;
}

/** A LocalStoreError's reason, read without loading the sealed client to compare classes. */
function storeReason(error: Error): string | null {
  return 'reason' in error && typeof error.reason === 'string' ? error.reason : null;
}
