/** One listener as added, with the event it listens to. */
interface Added<Events> {
  readonly event: keyof Events;
  readonly listener: Events[keyof Events];
}

/**
 * A small typed event emitter (after automerge-repo's typed event maps): listeners are added
 * with `on`, which returns their unsubscribe, so whoever listens can stop listening and nobody
 * overwrites anyone else's listener. Listeners run in the order they were added; one added or
 * removed while an event is emitted takes effect from the next emit. Every room has one, with a
 * listener or two: they are kept in one small array, not a Map (memory per idle room).
 */
export class Emitter<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  /** Replaced, never changed in place: an emit goes on over the array it started with. */
  #listeners: readonly Added<Events>[] = [];

  /** Calls `listener` on every `event` from now on. Returns a function that stops it (idempotent). */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    // concat, not a spread: an array of the exact length, where a spread grows it to 17 slots.
    this.#listeners = this.#listeners.concat({ event, listener });
    let listening = true;
    return () => {
      if (!listening) return;
      listening = false;
      const current = this.#listeners;
      const index = current.findIndex((a) => a.event === event && a.listener === listener);
      if (index === -1) return;
      this.#listeners = [...current.slice(0, index), ...current.slice(index + 1)];
    };
  }

  /** Calls every listener of `event` with `args`. A listener that throws stops the others. */
  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    for (const added of this.#listeners) {
      if (added.event !== event) continue;
      (added.listener as (...args: Parameters<Events[K]>) => void)(...args);
    }
  }
}
