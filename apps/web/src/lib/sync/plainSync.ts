// Loaded on demand (a dynamic import from SpaceConnection), only for a space made before sealed
// spaces: y-websocket and y-indexeddb stay out of a sealed space's first load.
import { getPartner, getSpace, type PartnerId as ModelPartnerId } from '@mend/model';
import type { PartnerId, SpaceId } from '@mend/protocol';
import { IndexeddbPersistence } from 'y-indexeddb';
import type { Awareness } from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { isQuotaError } from './storageErrors.js';
import type { EngineHooks, SyncEngine } from './syncEngine.js';

export interface PlainSyncOptions {
  spaceId: SpaceId;
  doc: Y.Doc;
  awareness: Awareness;
  serverUrl: string;
  /** false: keep the document in memory only (tests). */
  persist: boolean;
  /** false: never open a socket (tests, or a device the server refused). */
  connect: boolean;
  hooks: EngineHooks;
  WebSocketPolyfill?: typeof WebSocket;
}

/**
 * A plaintext space's sync: the stock y-websocket provider and y-indexeddb copy. The provider's
 * own reconnect has no jitter, so each closed socket is handed to the SpaceConnection, which
 * decides what follows (`hooks.closed`) and calls `connect` again when it is time.
 */
export class PlainSync implements SyncEngine {
  /** Resolves once the local copy is in the document, or once it is clear there is none. */
  readonly localReady: Promise<void>;
  readonly #provider: WebsocketProvider | null = null;
  readonly #persistence: IndexeddbPersistence | null = null;
  readonly #hooks: EngineHooks;
  readonly #doc: Y.Doc;
  readonly #onUpdate: (update: Uint8Array, origin: unknown) => void;
  #unsavedWrites = 0;

  constructor(options: PlainSyncOptions) {
    this.#hooks = options.hooks;
    this.#doc = options.doc;
    this.localReady = Promise.resolve();
    if (options.persist && typeof indexedDB !== 'undefined') {
      const persistence = new IndexeddbPersistence(`mend-space-${options.spaceId}`, options.doc);
      this.#persistence = persistence;
      this.localReady = new Promise<void>((resolve) => {
        void persistence.whenSynced.then(() => resolve());
        persistence._db.catch((error: unknown) => {
          this.#hooks.storageProblem(isQuotaError(error) ? 'quota' : 'unavailable');
          resolve();
        });
      });
    }
    this.#onUpdate = (_update, origin) => {
      if (!this.isRemote(origin)) this.#confirmSaved();
    };
    options.doc.on('update', this.#onUpdate);

    if (options.connect) {
      const provider = new WebsocketProvider(options.serverUrl, options.spaceId, options.doc, {
        awareness: options.awareness,
        connect: false,
        ...(options.WebSocketPolyfill ? { WebSocketPolyfill: options.WebSocketPolyfill } : {}),
      });
      this.#provider = provider;
      provider.on('status', ({ status }) => {
        if (status === 'connected') this.#hooks.opened();
      });
      provider.on('sync', (isSynced) => this.#hooks.synced(isSynced));
      provider.on('connection-close', (event) => {
        if (!provider.shouldConnect) return;
        // Take the retry over from the provider (whose timer then finds shouldConnect false).
        provider.shouldConnect = false;
        this.#hooks.closed(event?.code);
      });
    }
  }

  isRemote(origin: unknown): boolean {
    return origin !== null && (origin === this.#provider || origin === this.#persistence);
  }

  connect(): void {
    this.#provider?.connect();
  }

  disconnect(): void {
    this.#provider?.disconnect();
  }

  async destroy(): Promise<void> {
    this.#doc.off('update', this.#onUpdate);
    this.#provider?.destroy();
    await this.#persistence?.destroy().catch(() => undefined);
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
    this.#hooks.saved(false);
    const done = () => {
      this.#unsavedWrites -= 1;
      if (this.#unsavedWrites === 0) this.#hooks.saved(true);
    };
    try {
      const tx = db.transaction(['updates'], 'readonly');
      tx.oncomplete = done;
      tx.onabort = () => {
        done();
        if (isQuotaError(tx.error)) this.#hooks.storageProblem('quota');
      };
      tx.objectStore('updates').count();
    } catch {
      done();
    }
  }
}

/**
 * The names in this device's copy of a plaintext space (for a list that forgot it; findSpace.ts),
 * or none when there is no copy: the document then arrives from the server.
 */
export async function namesOnThisDevice(
  spaceId: SpaceId,
  partnerId: PartnerId,
): Promise<{ displayName: string; spaceName?: string }> {
  const doc = new Y.Doc();
  const persistence = new IndexeddbPersistence(`mend-space-${spaceId}`, doc);
  try {
    await new Promise<void>((resolve, reject) => {
      void persistence.whenSynced.then(() => resolve());
      persistence._db.catch(reject);
    });
    const name = getSpace(doc)?.name;
    return {
      displayName: getPartner(doc, partnerId as string as ModelPartnerId)?.displayName ?? '',
      ...(name ? { spaceName: name } : {}),
    };
  } catch {
    return { displayName: '' };
  } finally {
    await persistence.destroy();
    doc.destroy();
  }
}
