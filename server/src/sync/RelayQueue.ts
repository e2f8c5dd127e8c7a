/**
 * Store first, then relay, in order of arrival. Every write is handed to storage at once, but
 * its relay waits until it is stored and every earlier write has been relayed (or has failed),
 * so no socket or node ever hears of a change that storage does not hold, and nobody hears two
 * changes out of order.
 */
export class RelayQueue {
  /** Resolves when every write started so far is stored and relayed; never rejects. */
  #chain: Promise<void> = Promise.resolve();
  /** Writes started but not yet stored. */
  #inflight = 0;

  /** How many writes are started but not yet stored. */
  get pending(): number {
    return this.#inflight;
  }

  /** Resolves when every write started so far is stored and relayed (or failed); never rejects. */
  get settled(): Promise<void> {
    return this.#chain;
  }

  /** Resolves once no write is pending, including writes started while waiting. */
  async whenIdle(): Promise<void> {
    while (this.#inflight > 0) await this.#chain;
    await this.#chain;
  }

  /** Runs `run` now if no write is pending, else once every write started so far is done. */
  afterPending(run: () => void): void {
    if (this.#inflight === 0) run();
    else void this.#chain.then(run);
  }

  /**
   * Starts `store` now. Once it is stored and every earlier write is done, `relay` runs (it
   * returns whether it relayed); if storing failed, `fail` runs instead. Resolves with what
   * `relay` returned, or false on failure; never rejects.
   */
  write(
    store: () => Promise<unknown>,
    relay: () => boolean,
    fail: (error: unknown) => void,
  ): Promise<boolean> {
    this.#inflight += 1;
    const stored = store();
    // Handled below once earlier relays are done; this keeps an early failure from counting as
    // an unhandled rejection meanwhile.
    stored.catch(() => {});
    const relayed = this.#chain.then(() =>
      stored.then(
        () => {
          this.#inflight -= 1;
          return relay();
        },
        (error: unknown) => {
          this.#inflight -= 1;
          fail(error);
          return false;
        },
      ),
    );
    this.#chain = relayed.then(() => undefined);
    return relayed;
  }
}
