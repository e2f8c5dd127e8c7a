import type { OutboxEntry } from '../local/records.js';

/**
 * How a write of sealed held changes ended: `stored` (they are in the outbox now), `refused`
 * (they were no longer held: another page sealed them, nothing was stored) or `failing` (the
 * store is failing; the write stays in line and is tried again).
 */
export type HeldSealOutcome = 'stored' | 'refused' | 'failing';

/**
 * Where a provider keeps the changes written while it is not connected, until it seals them into
 * one envelope (or a few) of their stream (docs/protocol.md, "Changes made offline").
 * `memoryHeld()` keeps them in memory, beside an outbox in memory; a SealedSession keeps them in
 * IndexedDB with the document (`storedHeld.ts`).
 */
export interface HeldChanges {
  /** Changes earlier pages held and did not seal, per stream, in the order they were made. */
  readonly earlier: ReadonlyMap<number, readonly Uint8Array[]>;
  /**
   * Whether this page may hold and seal `stream`'s changes: only one page may, and it may for
   * as long as it is open. Asked once per stream; until it answers true, nothing is held on it.
   */
  own(stream: number): boolean | Promise<boolean>;
  /** Keeps `update`, a change written with `stream` while not connected. */
  hold(stream: number, update: Uint8Array): void;
  /**
   * Replaces the first `count` changes held for `stream` with `entries`, the envelopes sealed
   * from them, in the outbox's storage, in line after every earlier write. `settled` is called
   * once, and the envelopes may be sent only then: a reload must find either the changes held or
   * their envelopes, or it would seal them a second time, differently, at the same counter.
   */
  seal(
    stream: number,
    count: number,
    entries: readonly OutboxEntry[],
    settled: (outcome: HeldSealOutcome) => void,
  ): void;
}

/**
 * What a provider is given (`ProviderOptions.held`): the changes earlier pages held, read with the
 * rest of the store, and what holds new ones, loaded only when needed (a page that stays
 * connected never needs it).
 */
export interface HeldSource {
  readonly earlier: ReadonlyMap<number, readonly Uint8Array[]>;
  load(): Promise<HeldChanges>;
}

/**
 * Held changes in memory, for a provider whose outbox lives and dies with it (one page, no
 * store): never beside an outbox that outlives the provider, which would not know of them.
 */
export function memoryHeld(): HeldSource {
  const changes: HeldChanges = {
    earlier: new Map(),
    own: () => true,
    hold: () => {},
    seal: (_stream, _count, _entries, settled) => settled('stored'),
  };
  return { earlier: changes.earlier, load: () => Promise.resolve(changes) };
}
