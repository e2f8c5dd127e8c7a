/**
 * Fixed windows per client address (one minute for requests, one day for spaces created). Cheap,
 * and good enough to stop a script from creating spaces or guessing invites in bulk.
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #windows = new Map<string, { start: number; count: number }>();
  #lastSweep = 0;

  /** @param limit requests per window; 0 turns the limiter off */
  constructor(limit: number, windowMs = 60_000, now: () => number = Date.now) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Counts one request; returns 0 if allowed, else the seconds until the next is allowed. */
  take(key: string): number {
    if (this.#limit === 0) return 0;
    const now = this.#now();
    this.#sweep(now);
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.#windowMs) {
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    if (window.count >= this.#limit) {
      return Math.max(1, Math.ceil((window.start + this.#windowMs - now) / 1000));
    }
    window.count += 1;
    return 0;
  }

  /** Gives back a request counted by `take` that turned out not to count (it failed). */
  refund(key: string): void {
    const window = this.#windows.get(key);
    if (window && window.count > 0) window.count -= 1;
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < this.#windowMs) return;
    this.#lastSweep = now;
    for (const [key, window] of this.#windows) {
      if (now - window.start >= this.#windowMs) this.#windows.delete(key);
    }
  }
}
