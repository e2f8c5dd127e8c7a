import { reconnectDelay } from './backoff.js';

/**
 * Why the server no longer syncs this space with this device. `removed`: a sealed space's device
 * whose token was revoked (it left, or another device removed it); its copy is then cleared.
 */
export type Refusal = 'deleted' | 'not-member' | 'removed';

/**
 * Where this device stands with the server, one state at a time: trying to sync (or waiting to
 * try again), synced, the last try could not reach it, the space is full (until a person tries
 * again), stopped until Mend is updated, or refused for good.
 */
export type ServerLink =
  | { kind: 'connecting' }
  | { kind: 'synced' }
  | { kind: 'unreachable' }
  | { kind: 'full' }
  | { kind: 'paused' }
  | { kind: 'refused'; refusal: Refusal };

/**
 * The server link of one open space, and when it is tried again: moves between the states of
 * `ServerLink` by the rules below, and keeps the jittered backoff (backoff.ts) between tries.
 */
export class LinkState {
  #state = $state.raw<ServerLink>({ kind: 'connecting' });
  #attempts = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;

  get current(): ServerLink {
    return this.#state;
  }

  /**
   * Moves to `next`. Refused is for good; stopped for an update, only a refusal follows (the
   * page reloads into a newer Mend). None of the three that wait (full: for a person; stopped:
   * for an update; refused: for good) keeps a try planned.
   */
  to(next: ServerLink): void {
    const kind = this.#state.kind;
    if (kind === 'refused' || (kind === 'paused' && next.kind !== 'refused')) return;
    this.#state = next;
    if (next.kind === 'full' || next.kind === 'paused' || next.kind === 'refused') {
      this.cancelRetry();
    }
  }

  /** Synced: the next failure starts the backoff from its first delay. */
  synced(): void {
    this.to({ kind: 'synced' });
    this.#attempts = 0;
  }

  /** The socket closed, or the engine is syncing again: still trying. */
  notSynced(): void {
    if (this.#state.kind === 'synced') this.to({ kind: 'connecting' });
  }

  /** Calls `connect` after the next delay of the backoff (instead of any try already planned). */
  retry(connect: () => void): void {
    this.cancelRetry();
    this.#attempts += 1;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      connect();
    }, reconnectDelay(this.#attempts));
  }

  /**
   * A person asked, or the network came back: no try planned, the backoff from the start, and a
   * full space is tried again.
   */
  restart(): void {
    this.cancelRetry();
    this.#attempts = 0;
    if (this.#state.kind === 'full') this.to({ kind: 'connecting' });
  }

  cancelRetry(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
