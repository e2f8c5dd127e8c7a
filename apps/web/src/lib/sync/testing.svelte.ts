// Test support only (imported by *.svelte.test.ts files, never by the app).
import type { SpaceId } from '@mend/protocol';
import { flushSync } from 'svelte';

let counter = 0;

/** A space id no other test of this run uses (each gets its own IndexedDB database). */
export function freshSpaceId(prefix: string): SpaceId {
  counter += 1;
  return `${prefix}_${String(counter).padStart(8, '0')}` as SpaceId;
}

/** Resolves once `condition` (read from reactive state) holds. */
export function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const stop = $effect.root(() => {
      $effect(() => {
        if (condition()) {
          queueMicrotask(() => stop());
          resolve();
        }
      });
    });
    flushSync();
  });
}
