/**
 * A small typed event emitter (after automerge-repo's typed event maps): listeners are added
 * with `on`, which returns their unsubscribe, so whoever listens can stop listening and nobody
 * overwrites anyone else's listener. Listeners run in the order they were added; one added or
 * removed while an event is emitted takes effect from the next emit.
 */
export class Emitter<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  readonly #listeners = new Map<keyof Events, Events[keyof Events][]>();

  /** Calls `listener` on every `event` from now on. Returns a function that stops it (idempotent). */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    const listeners = this.#listeners.get(event) ?? [];
    this.#listeners.set(event, [...listeners, listener]);
    let listening = true;
    return () => {
      if (!listening) return;
      listening = false;
      const current = this.#listeners.get(event) ?? [];
      const index = current.indexOf(listener);
      if (index === -1) return;
      const rest = [...current.slice(0, index), ...current.slice(index + 1)];
      if (rest.length > 0) this.#listeners.set(event, rest);
      else this.#listeners.delete(event);
    };
  }

  /** Calls every listener of `event` with `args`. A listener that throws stops the others. */
  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const listeners = this.#listeners.get(event) ?? [];
    for (const listener of listeners)
      (listener as (...args: Parameters<Events[K]>) => void)(...args);
  }
}
