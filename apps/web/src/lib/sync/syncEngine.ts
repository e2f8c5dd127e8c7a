import type { StorageProblem } from './SpaceConnection.svelte.js';

/**
 * What a SpaceConnection drives: the plaintext engine (plainSync.ts) or the sealed one
 * (sealedSync.ts), each loaded on demand. The connection owns what a person sees and when to
 * try again; an engine moves the document and tells what happened through `EngineHooks`.
 */
export interface SyncEngine {
  /** Whether a document change came from the server or the stored copy, not from this person. */
  isRemote(origin: unknown): boolean;
  /** Opens a socket now if none is open; never retries by itself. */
  connect(): void;
  disconnect(): void;
  /**
   * The page may be going away (hidden, or closing): what waits to be written to the device is
   * written now, as far as the engine can. Optional: an engine that writes each change at once
   * has nothing to do.
   */
  settle?(): void;
  /** Lets go of the socket and the local store; resolves once both are closed. Never rejects. */
  destroy(): Promise<void>;
}

export interface EngineHooks {
  /** The socket opened (a refused upgrade never gets here). */
  opened(): void;
  /** Everything the server holds has been taken in (true), or the socket went (false). */
  synced(synced: boolean): void;
  /** The socket closed; the connection decides what follows and calls `connect` again. */
  closed(code: number | undefined): void;
  /** Whether every local change so far is committed to IndexedDB. */
  saved(savedOnDevice: boolean): void;
  storageProblem(kind: StorageProblem): void;
}
