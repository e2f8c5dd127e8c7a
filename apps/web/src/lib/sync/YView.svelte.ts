import { createSubscriber } from 'svelte/reactivity';
import type * as Y from 'yjs';

/**
 * A read of a Yjs document as a reactive value: `current` is `read()`, recomputed only after the
 * watched types change, and only while something on screen is reading it (the subscription to
 * Yjs starts with the first reader and stops with the last).
 *
 * Watch the narrowest types that decide the value (e.g. one agreement's Y.Map), so a remote
 * change elsewhere in the space does not recompute it.
 */
// Any shared type will do; Yjs types are invariant in their event type, hence `any` here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Watched = Y.AbstractType<any>;

export class YView<T> {
  readonly #read: () => T;
  readonly #subscribe: () => void;
  #cached: { value: T } | null = null;
  #live = false;

  constructor(watch: Y.Doc | readonly Watched[], read: () => T) {
    this.#read = read;
    this.#subscribe = createSubscriber((update) => {
      this.#live = true;
      this.#cached = null;
      const changed = () => {
        this.#cached = null;
        update();
      };
      if (isDoc(watch)) {
        watch.on('update', changed);
        return () => {
          watch.off('update', changed);
          this.#stop();
        };
      }
      for (const type of watch) type.observeDeep(changed);
      return () => {
        for (const type of watch) type.unobserveDeep(changed);
        this.#stop();
      };
    });
  }

  get current(): T {
    this.#subscribe();
    if (!this.#live) return this.#read();
    this.#cached ??= { value: this.#read() };
    return this.#cached.value;
  }

  #stop(): void {
    this.#live = false;
    this.#cached = null;
  }
}

function isDoc(value: Y.Doc | readonly Watched[]): value is Y.Doc {
  return !Array.isArray(value);
}
