import fc from 'fast-check';
import { IDBFactory as FakeIDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { LocalSpaceStore } from './LocalSpaceStore.js';
import type { OutboxEntry } from './records.js';
import { keysIn, SPACE, updateSetting } from './testing/fixtures.js';

// Two tabs of one browser: two stores over the same IndexedDB, each with its own connection.
// Operations in a batch start together, without waiting for each other, as two tabs' would.

const TABS = [0, 1] as const;
type Tab = (typeof TABS)[number];
const tab = fc.constantFrom<Tab>(...TABS);

async function openTabs(compactAbove?: number): Promise<[LocalSpaceStore, LocalSpaceStore]> {
  const factory = new FakeIDBFactory();
  return [
    await LocalSpaceStore.open(SPACE, { indexedDB: factory, compactAbove }),
    await LocalSpaceStore.open(SPACE, { indexedDB: factory, compactAbove }),
  ];
}

function batches<T>(op: fc.Arbitrary<T>): fc.Arbitrary<T[][]> {
  return fc.array(fc.array(op, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 });
}

describe('LocalSpaceStore in two tabs', () => {
  it('never lets the stored replica state go back, whatever order two tabs write in', async () => {
    await fc.assert(
      fc.asyncProperty(batches(fc.record({ tab, since: fc.nat({ max: 30 }) })), async (plan) => {
        const stores = await openTabs();
        let highest = -1;
        for (const batch of plan) {
          await Promise.all(
            batch.map(({ tab, since }) =>
              stores[tab].saveReceived([], { since, state: Uint8Array.of(tab, since) }),
            ),
          );
          highest = Math.max(highest, ...batch.map((op) => op.since));
          for (const store of stores) {
            const { replica } = await store.load();
            expect(replica?.since).toBe(highest);
            // The state is the one written with that `since`, never another write's.
            expect(replica?.state[1]).toBe(highest);
          }
        }
        for (const store of stores) store.close();
      }),
    );
  });

  it('loses no update and no envelope when compactions race writes from the other tab', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('local' as const), tab }),
      fc.record({
        kind: fc.constant('received' as const),
        tab,
        count: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ kind: fc.constant('compact' as const), tab }),
      fc.record({ kind: fc.constant('acknowledge' as const), tab }),
    );
    await fc.assert(
      fc.asyncProperty(batches(op), async (plan) => {
        const stores = await openTabs(2);
        const written: string[] = [];
        const sent: OutboxEntry[] = [];
        const counters = [0, 0];
        const acknowledged = [0, 0];
        let since = 0;
        for (const batch of plan) {
          // Each operation's transaction is created when it is called, in this order; IndexedDB
          // runs overlapping read-write transactions in creation order, whichever tab made them.
          const running = batch.map((step) => {
            const store = stores[step.tab];
            const stream = 100 + step.tab;
            switch (step.kind) {
              case 'local': {
                const key = `local-${written.length}`;
                const entry = {
                  stream,
                  counter: ++counters[step.tab]!,
                  envelope: Uint8Array.of(step.tab, written.length),
                };
                written.push(key);
                sent.push(entry);
                return store.saveLocalChange(updateSetting(key), entry);
              }
              case 'received': {
                const keys = Array.from(
                  { length: step.count },
                  (_, i) => `received-${written.length + i}`,
                );
                written.push(...keys);
                since += 1;
                return store.saveReceived(keys.map(updateSetting), {
                  since,
                  state: Uint8Array.of(since),
                });
              }
              case 'compact':
                return store.compact();
              case 'acknowledge':
                acknowledged[step.tab] = counters[step.tab]!;
                return store.acknowledge(stream, counters[step.tab]!);
            }
          });
          await Promise.all(running);
          const waiting = sent.filter((e) => e.counter > acknowledged[e.stream - 100]!);
          for (const store of stores) {
            const loaded = await store.load();
            expect(keysIn(loaded.docState)).toEqual([...written].sort());
            expect(loaded.outbox).toEqual(waiting);
          }
        }
        for (const store of stores) store.close();
      }),
    );
  });
});
