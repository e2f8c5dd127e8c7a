import type { AddressKey } from './clientAddress.js';

/**
 * Counts what each client address holds open at once (sync sockets), so one address cannot use
 * up the connections everyone shares.
 */
export class AddressSlots {
  readonly #limit: number;
  readonly #held = new Map<AddressKey, number>();

  /** @param limit slots per address; 0 turns the count off */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Takes a slot for `key`: a function that gives it back (once), or null when all are taken. */
  take(key: AddressKey): (() => void) | null {
    const held = this.#held.get(key) ?? 0;
    if (this.#limit > 0 && held >= this.#limit) return null;
    this.#held.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#held.get(key) ?? 1) - 1;
      if (left === 0) this.#held.delete(key);
      else this.#held.set(key, left);
    };
  }
}
