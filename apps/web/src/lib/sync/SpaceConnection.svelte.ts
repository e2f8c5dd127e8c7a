import type { PartnerId, SpaceId } from '@mend/protocol';
import { IndexeddbPersistence } from 'y-indexeddb';
import { Awareness } from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { checkAccess, type Access } from '../api.js';
import { afterClose, reconnectDelay } from './backoff.js';
import { PendingChanges } from './PendingChanges.js';

/** Why the server will not let this device in any more; shown in plain words. */
export type Refusal = 'deleted' | 'not-member';

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
  | { kind: 'refused'; refusal: Refusal };

export type StorageProblem = 'quota' | 'unavailable';

/** What this device tells the other side about itself (docs/api.md, Presence). */
export interface AwarenessUser {
  partnerId: string;
  name: string;
  color: string;
}
export interface AwarenessFocus {
  kind: string;
  id: string;
}
/** Where in a shared text this person's caret is: a Yjs relative position, so it survives edits. */
export interface AwarenessCursor {
  field: string;
  position: unknown;
}

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
}

/**
 * One open space on this device: the Y.Doc, its IndexedDB copy, the socket to the server and
 * the state a person needs to see (synced / syncing / offline with N changes waiting / refused).
 *
 * The stock y-websocket provider does the wire protocol. Its own reconnect has no jitter, so each
 * closed socket is taken over here: the provider's retry is cancelled and a jittered one scheduled.
 */
export class SpaceConnection {
  readonly spaceId: SpaceId;
  readonly partnerId: PartnerId;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;

  /** The local copy has been read from IndexedDB (or there is none to read). */
  loaded = $state(false);
  /** The socket is open and the server's state has been received. */
  synced = $state(false);
  online = $state(true);
  /** The last attempt to reach the server failed before it could sync. */
  unreachable = $state(false);
  refusal = $state<Refusal | null>(null);
  /**
   * The server refused this device's change: the space reached its size limit. The device
   * keeps its copy and stops reconnecting until a person tries again (`reconnect`).
   */
  spaceFull = $state(false);
  storageProblem = $state<StorageProblem | null>(null);
  /** Another tab or window of this browser has the same space open. */
  otherTab = $state(false);
  /** Local changes made while not synced; they go out when the socket syncs again. */
  waiting = $state(0);
  /** Every local change so far is committed to IndexedDB. */
  savedOnDevice = $state(true);

  readonly #provider: WebsocketProvider | null = null;
  readonly #persistence: IndexeddbPersistence | null = null;
  readonly #pending: PendingChanges;
  readonly #checkAccess: (spaceId: SpaceId) => Promise<Access>;
  readonly #cleanups: (() => void)[] = [];
  #attempts = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #unsavedWrites = 0;
  #destroyed = false;
  /** Who this device says it is, kept while its presence is withdrawn. */
  #user: AwarenessUser;

  constructor(options: SpaceConnectionOptions) {
    this.spaceId = options.spaceId;
    this.partnerId = options.partnerId;
    this.#checkAccess = options.checkAccess ?? checkAccess;
    const storage = options.storage ?? localStorage;
    this.#pending = new PendingChanges(options.spaceId, storage);
    this.waiting = this.#pending.count;

    this.doc = new Y.Doc();
    this.awareness = new Awareness(this.doc);
    this.#user = {
      partnerId: options.partnerId,
      name: options.displayName,
      color: options.color ?? '#5b7f95',
    };
    this.awareness.setLocalStateField('user', this.#user);

    if (typeof navigator !== 'undefined' && 'onLine' in navigator) this.online = navigator.onLine;

    const onUpdate = (_update: Uint8Array, origin: unknown) => {
      // Remote updates (the provider) and the stored copy being read back are not new changes.
      if (origin !== null && (origin === this.#provider || origin === this.#persistence)) return;
      if (!this.synced) this.waiting = this.#pending.add();
      this.#confirmSaved();
    };

    this.doc.on('update', onUpdate);
    this.#cleanups.push(() => this.doc.off('update', onUpdate));

    // Resolves once the local copy is in the document, or once it is clear there is none to be
    // had (IndexedDB refused, as in some private windows): the space then works online only.
    let localReady: Promise<void> = Promise.resolve();
    if (options.persist !== false && typeof indexedDB !== 'undefined') {
      const persistence = new IndexeddbPersistence(`mend-space-${options.spaceId}`, this.doc);
      this.#persistence = persistence;
      performance.mark('mend:local-copy-opening');
      localReady = new Promise<void>((resolve) => {
        void persistence.whenSynced.then(() => {
          // Marks for benchmarks and the browser's performance panel.
          performance.mark('mend:local-copy-loaded');
          resolve();
        });
        persistence._db.catch((error: unknown) => {
          this.storageProblem = isQuotaError(error) ? 'quota' : 'unavailable';
          resolve();
        });
      });
    }
    void localReady.then(() => {
      this.loaded = true;
    });

    if (options.connect !== false) {
      const serverUrl = options.serverUrl ?? defaultServerUrl();
      this.#provider = new WebsocketProvider(serverUrl, options.spaceId, this.doc, {
        awareness: this.awareness,
        connect: false,
        ...(options.WebSocketPolyfill ? { WebSocketPolyfill: options.WebSocketPolyfill } : {}),
      });
      this.#wireProvider(this.#provider);
      // The socket opens once the local copy is in the document, so the first sync sends
      // only what the server lacks and the screen never flashes an empty space.
      void localReady.then(() => {
        if (!this.#destroyed && this.online) this.#provider?.connect();
      });
    }

    this.#watchBrowser(options.spaceId);
    this.#checkStorage();
  }

  get status(): SyncStatus {
    if (this.refusal) return { kind: 'refused', refusal: this.refusal };
    if (!this.loaded) return { kind: 'loading' };
    if (this.spaceFull) return { kind: 'full', waiting: this.waiting };
    if (this.synced) return { kind: 'synced' };
    if (!this.online || !this.#provider) return { kind: 'offline', waiting: this.waiting };
    if (this.unreachable) return { kind: 'unreachable', waiting: this.waiting };
    return { kind: 'syncing' };
  }

  /** Who this device says it is, e.g. after a name change or once the partner's colour is known. */
  setUser(user: AwarenessUser): void {
    this.#user = user;
    const current = this.awareness.getLocalState()?.['user'] as AwarenessUser | undefined;
    if (
      current?.partnerId === user.partnerId &&
      current.name === user.name &&
      current.color === user.color
    ) {
      return;
    }
    this.awareness.setLocalStateField('user', user);
  }

  /**
   * Publishes this device's presence, or withdraws it when this person chose not to show when
   * they are here (Settings). Withdrawn means no awareness state at all: focus and caret would
   * tell the partner the same thing, and y-protocols drops field writes to a null state.
   */
  setPresenceShown(shown: boolean): void {
    const state = this.awareness.getLocalState();
    if (shown && state === null) this.awareness.setLocalState({ user: this.#user });
    if (!shown && state !== null) this.awareness.setLocalState(null);
  }

  /** Tells the partner what this person is looking at or typing in (docs/api.md, Presence). */
  setFocus(focus: AwarenessFocus | null): void {
    this.awareness.setLocalStateField('focus', focus ?? undefined);
    if (!focus) this.awareness.setLocalStateField('cursor', undefined);
  }

  /** Shares the caret inside the focused item, so the partner sees where this person types. */
  setCursor(cursor: AwarenessCursor | null): void {
    this.awareness.setLocalStateField('cursor', cursor ?? undefined);
  }

  /** Stops trying to reach the server, e.g. because the person chose to work offline. */
  disconnect(): void {
    this.#cancelRetry();
    this.#provider?.disconnect();
  }

  reconnect(): void {
    if (this.refusal || this.#destroyed) return;
    this.#cancelRetry();
    this.#attempts = 0;
    this.spaceFull = false;
    this.#provider?.connect();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#cancelRetry();
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.awareness.setLocalState(null);
    this.#provider?.destroy();
    this.awareness.destroy();
    void this.#persistence?.destroy();
    this.doc.destroy();
  }

  #wireProvider(provider: WebsocketProvider): void {
    let opened = false;
    provider.on('status', ({ status }) => {
      if (status === 'connected') opened = true;
    });
    provider.on('sync', (isSynced) => {
      this.synced = isSynced;
      if (isSynced) {
        this.unreachable = false;
        this.#attempts = 0;
        this.#pending.clear();
        this.waiting = 0;
      }
    });
    provider.on('connection-close', (event) => {
      this.synced = false;
      const wasOpened = opened;
      opened = false;
      if (this.#destroyed || !provider.shouldConnect) return;
      // Take the retry over from the provider (whose timer then finds shouldConnect false).
      provider.shouldConnect = false;
      const next = afterClose(event?.code, wasOpened, this.online);
      if (next === 'deleted') {
        this.#refuse('deleted');
        return;
      }
      if (next === 'full') {
        // No timer: a person's "Try again" (or the browser coming back online) reconnects.
        this.spaceFull = true;
        this.#cancelRetry();
        return;
      }
      if (next === 'ask-server') {
        this.unreachable = true;
        // A refused upgrade looks like any network failure to a page (code 1006), so ask
        // the server plainly whether this device still belongs here.
        void this.#checkAccess(this.spaceId).then((access) => {
          if (access.kind === 'deleted' || access.kind === 'not-member') this.#refuse(access.kind);
          else this.#scheduleRetry();
        });
        return;
      }
      this.#scheduleRetry();
    });
  }

  #refuse(refusal: Refusal): void {
    this.refusal = refusal;
    this.#cancelRetry();
    this.#provider?.disconnect();
  }

  #scheduleRetry(): void {
    if (this.#destroyed || this.refusal || !this.online) return;
    this.#cancelRetry();
    this.#attempts += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (!this.#destroyed && !this.refusal && this.online) this.#provider?.connect();
    }, reconnectDelay(this.#attempts));
  }

  #cancelRetry(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  /**
   * y-indexeddb queues each update in its own transaction without telling anyone when it is
   * committed. A read-only transaction over the same store is ordered after every earlier
   * read-write one, so its `complete` means every change so far is on disk.
   */
  #confirmSaved(): void {
    const db = this.#persistence?.db;
    if (!db) return;
    this.#unsavedWrites += 1;
    this.savedOnDevice = false;
    const done = () => {
      this.#unsavedWrites -= 1;
      if (this.#unsavedWrites === 0) this.savedOnDevice = true;
    };
    try {
      const tx = db.transaction(['updates'], 'readonly');
      tx.oncomplete = done;
      tx.onabort = () => {
        done();
        if (isQuotaError(tx.error)) this.storageProblem = 'quota';
      };
      tx.objectStore('updates').count();
    } catch {
      done();
    }
  }

  #watchBrowser(spaceId: SpaceId): void {
    if (typeof window === 'undefined') return;
    const onOnline = () => {
      this.online = true;
      this.reconnect();
    };
    const onOffline = () => {
      // An emulated or flaky offline can leave the old socket looking open; close it so the
      // screen says "offline" at once and changes are counted as waiting.
      this.online = false;
      this.#cancelRetry();
      this.#provider?.disconnect();
    };
    const onRejection = (event: PromiseRejectionEvent) => {
      if (isQuotaError(event.reason)) this.storageProblem = 'quota';
    };
    window.addEventListener('online', onOnline);
    window.addEventListener('offline', onOffline);
    window.addEventListener('unhandledrejection', onRejection);
    this.#cleanups.push(() => {
      window.removeEventListener('online', onOnline);
      window.removeEventListener('offline', onOffline);
      window.removeEventListener('unhandledrejection', onRejection);
    });

    if (typeof BroadcastChannel !== 'undefined') {
      const channel = new BroadcastChannel(`mend-tabs:${spaceId}`);
      const tabId = Math.random().toString(36).slice(2);
      // Plain bookkeeping; only `otherTab` is shown.
      // eslint-disable-next-line svelte/prefer-svelte-reactivity
      const others = new Set<string>();
      channel.onmessage = (event: MessageEvent<{ type: string; tabId: string }>) => {
        const { type, tabId: from } = event.data;
        if (type === 'hello') {
          others.add(from);
          channel.postMessage({ type: 'here', tabId });
        } else if (type === 'here') others.add(from);
        else if (type === 'bye') others.delete(from);
        this.otherTab = others.size > 0;
      };
      channel.postMessage({ type: 'hello', tabId });
      const onHide = () => channel.postMessage({ type: 'bye', tabId });
      window.addEventListener('pagehide', onHide);
      this.#cleanups.push(() => {
        onHide();
        window.removeEventListener('pagehide', onHide);
        channel.close();
      });
    }
  }

  /** Asks the browser to keep this copy, and warns early when the device is nearly full. */
  #checkStorage(): void {
    if (typeof navigator === 'undefined' || !navigator.storage) return;
    void navigator.storage.persist?.().catch(() => false);
    void navigator.storage
      .estimate?.()
      .then(({ usage, quota }) => {
        if (usage !== undefined && quota !== undefined && quota > 0 && usage / quota > 0.95) {
          this.storageProblem = 'quota';
        }
      })
      .catch(() => undefined);
  }
}

function defaultServerUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/sync`;
}

function isQuotaError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'name' in error &&
    (error.name === 'QuotaExceededError' || error.name === 'NS_ERROR_DOM_QUOTA_REACHED')
  );
}
