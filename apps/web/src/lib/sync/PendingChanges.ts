import { editSession } from './editSession.js';

/**
 * Counts the changes made on this device that the server has not yet been sent, across reloads
 * (an offline device may be closed and opened again before the network returns). A change is
 * what a person made: all the keystrokes of one field's edit session count once.
 */
export class PendingChanges {
  readonly #key: string;
  readonly #storage: Storage;
  #count: number;
  #lastSession: object | null = null;

  constructor(spaceId: string, storage: Storage) {
    this.#key = `mend:pending:${spaceId}`;
    this.#storage = storage;
    const stored = Number.parseInt(this.#read() ?? '0', 10);
    this.#count = Number.isFinite(stored) && stored > 0 ? stored : 0;
  }

  get count(): number {
    return this.#count;
  }

  add(): number {
    const session = editSession.current;
    if (session !== null && session === this.#lastSession) return this.#count;
    this.#lastSession = session;
    this.#count += 1;
    this.#write();
    return this.#count;
  }

  clear(): void {
    this.#count = 0;
    this.#lastSession = null;
    this.#write();
  }

  #read(): string | null {
    try {
      return this.#storage.getItem(this.#key);
    } catch {
      return null;
    }
  }

  #write(): void {
    try {
      if (this.#count === 0) this.#storage.removeItem(this.#key);
      else this.#storage.setItem(this.#key, String(this.#count));
    } catch {
      // A full localStorage only loses this counter, never a change: the change itself is in IndexedDB.
    }
  }
}
