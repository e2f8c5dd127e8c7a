import type { CandidateKey } from './replicaKeys.js';

/**
 * The candidate keys a provider offers a snapshot sealed under an epoch this device does not
 * hold (docs/protocol.md, "Catching up across a key change"): fetched once per connection, when
 * such a snapshot is first next in line, since the server may have been given the boxes since
 * the last. A fetch that fails offers none: the snapshot is held back as an unopened key, and
 * the next connection asks again.
 */
export class CandidateKeys {
  readonly #fetch: (() => Promise<readonly CandidateKey[]>) | null;
  readonly #fetched: () => void;
  #state:
    | { readonly kind: 'idle' | 'fetching' }
    | { readonly kind: 'fetched'; keys: readonly CandidateKey[] } = {
    kind: 'idle',
  };
  /** Counts connections: a fetch of an earlier one is not this one's. */
  #round = 0;

  /** `fetched` runs once keys a caller waited for are in (`current()` has them). */
  constructor(fetch: (() => Promise<readonly CandidateKey[]>) | null, fetched: () => void) {
    this.#fetch = fetch;
    this.#fetched = fetched;
  }

  /** The keys fetched on this connection, or `wait` while they come (asked for now, once). */
  current(): readonly CandidateKey[] | 'wait' {
    const fetch = this.#fetch;
    if (fetch === null) return [];
    if (this.#state.kind === 'fetched') return this.#state.keys;
    if (this.#state.kind === 'fetching') return 'wait';
    this.#state = { kind: 'fetching' };
    const round = this.#round;
    const settle = (keys: readonly CandidateKey[]) => {
      if (round !== this.#round) return;
      this.#state = { kind: 'fetched', keys };
      this.#fetched();
    };
    fetch().then(settle, () => settle([]));
    return 'wait';
  }

  /** A new connection: the next snapshot that needs keys asks the server again. */
  reset(): void {
    this.#round++;
    this.#state = { kind: 'idle' };
  }
}
