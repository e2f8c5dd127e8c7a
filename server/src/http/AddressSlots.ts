import type { AddressKey } from './clientAddress.js';

/**
 * Counts what each client address holds open at once (sync sockets), so one address cannot use
 * up the connections everyone shares. A slot is given back by its key rather than through a
 * closure of its own: an open socket keeps only its address (memory per connected socket).
 */
export class AddressSlots {
  readonly #limit: number;
  readonly #held = new Map<AddressKey, number>();

  /** @param limit slots per address; 0 turns the count off */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Takes a slot for `key`: false when all are taken. Each slot taken is given back once. */
  take(key: AddressKey): boolean {
    const held = this.#held.get(key) ?? 0;
    if (this.#limit > 0 && held >= this.#limit) return false;
    this.#held.set(key, held + 1);
    return true;
  }

  /** Gives back a slot taken for `key`; the caller makes sure it gives each slot back once. */
  give(key: AddressKey): void {
    const left = (this.#held.get(key) ?? 1) - 1;
    if (left === 0) this.#held.delete(key);
    else this.#held.set(key, left);
  }
}
