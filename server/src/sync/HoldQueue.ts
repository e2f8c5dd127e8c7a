/**
 * What arrives while a room's live document is rebuilt from storage (after Yjs threw half-way
 * through an update) waits here, to run in order once the document is back. Nothing is dropped
 * and no socket is closed for it: sockets, messages from other nodes and server-side changes
 * all simply wait their turn.
 */
export class HoldQueue {
  #held: (() => void)[] | null = null;

  /** Whether work is being held. */
  get holding(): boolean {
    return this.#held !== null;
  }

  /** Starts holding. Returns false if already holding (a rebuild is under way). */
  hold(): boolean {
    if (this.#held) return false;
    this.#held = [];
    return true;
  }

  /** While holding, queues `run` and returns true; otherwise returns false (run it now). */
  defer(run: () => void): boolean {
    if (!this.#held) return false;
    this.#held.push(run);
    return true;
  }

  /**
   * Stops holding and runs what waited, in order. Each should look at the room's state first.
   * One may hold again (another broken update); those after it then wait behind it.
   */
  release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const run of held) run();
  }
}
