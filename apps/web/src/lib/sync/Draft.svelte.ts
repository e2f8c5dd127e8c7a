/**
 * A half-written text that survives a reload, a crash or a dead battery: every keystroke is kept
 * in this device's localStorage until the text is sent (then `clear()`). Drafts are private to
 * the device; they are never synced.
 */
export class Draft {
  readonly #key: string;
  #value = $state('');

  constructor(key: string) {
    this.#key = `mend:draft:${key}`;
    try {
      this.#value = localStorage.getItem(this.#key) ?? '';
    } catch {
      this.#value = '';
    }
  }

  get value(): string {
    return this.#value;
  }

  set value(next: string) {
    this.#value = next;
    try {
      if (next.length === 0) localStorage.removeItem(this.#key);
      else localStorage.setItem(this.#key, next);
    } catch {
      // Storage full or blocked: the text still lives in the field; the space notice explains.
    }
  }

  clear(): void {
    this.value = '';
  }
}
