/**
 * Locks shared by the pages of one browser profile and origin, which let go of them when they
 * close or crash: how a page tells whether the page that held a stream's unsent changes is still
 * open (docs/protocol.md, "Changes made offline").
 */
export interface PageLocks {
  /**
   * Takes the lock called `name` unless another page holds it: resolves with what lets go of
   * it, or null. A page holds what it took until it lets go, closes or crashes.
   */
  take(name: string): Promise<(() => void) | null>;
}

/** The browser's Web Locks, or null where there are none (Node, an old browser). */
export function webLocks(): PageLocks | null {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (locks === undefined) return null;
  return {
    take: (name) =>
      new Promise((resolve, reject) => {
        locks
          .request(name, { ifAvailable: true }, (lock) => {
            if (lock === null) {
              resolve(null);
              return undefined;
            }
            // Held until this promise settles.
            return new Promise<void>((letGo) => resolve(() => letGo()));
          })
          .catch(reject);
      }),
  };
}

/** Locks among the pages of one process (Node, tests): Web Locks without a browser. */
export class ProcessLocks implements PageLocks {
  readonly #held = new Set<string>();

  take(name: string): Promise<(() => void) | null> {
    if (this.#held.has(name)) return Promise.resolve(null);
    this.#held.add(name);
    let held = true;
    return Promise.resolve(() => {
      if (held) this.#held.delete(name);
      held = false;
    });
  }
}
