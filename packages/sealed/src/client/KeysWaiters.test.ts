import { describe, expect, it } from 'vitest';
import { KeysWaiters, type NotStored } from './KeysWaiters.js';
import { SetAsideReason } from './setAside.js';

/** A waiter whose outcome the test reads: the seq, or why it was not stored. */
function waiter() {
  const outcome: { seq?: number; reason?: NotStored; detail?: string } = {};
  return {
    outcome,
    resolve: (seq: number) => (outcome.seq = seq),
    reject: (reason: NotStored, detail?: string) => {
      outcome.reason = reason;
      if (detail !== undefined) outcome.detail = detail;
    },
  };
}

describe('keys statements waited for until the replica holds them', () => {
  it('resolves with the seq once the replica took in the statement acknowledged there, not before', () => {
    const keys = new KeysWaiters();
    const w = waiter();
    keys.wait({ stream: 7, counter: 3 }, w);
    keys.taken({ kind: 'applied' }, 12); // not acknowledged yet: not this one
    keys.acked(7, 3, 12);
    expect(w.outcome).toEqual({});
    keys.taken({ kind: 'rules', rules: 2, by: 'me' }, 12);
    expect(w.outcome).toEqual({ seq: 12 });
  });

  it('says why when the statement was set aside, answered without a seq, or the provider closed', () => {
    const keys = new KeysWaiters();
    const [setAside, noSeq, closedSent, closedStored] = [waiter(), waiter(), waiter(), waiter()];
    keys.wait({ stream: 1, counter: 1 }, setAside);
    keys.wait({ stream: 1, counter: 2 }, noSeq);
    keys.wait({ stream: 1, counter: 3 }, closedSent);
    keys.wait({ stream: 1, counter: 4 }, closedStored);
    keys.acked(1, 1, 5);
    keys.taken(
      {
        kind: 'set-aside',
        entry: { seq: 5, reason: SetAsideReason.refused, detail: 'a race', author: null },
      },
      5,
    );
    keys.acked(1, 2, 0);
    keys.acked(1, 4, 9);
    keys.close();
    expect(setAside.outcome).toEqual({ reason: 'set-aside', detail: 'a race' });
    expect(noSeq.outcome.reason).toBe('no-seq');
    expect(closedSent.outcome.reason).toBe('closed');
    expect(closedStored.outcome.reason).toBe('closed');
  });

  it('resolves a statement a snapshot covered before its own receipt came', () => {
    const keys = new KeysWaiters();
    const [covered, later] = [waiter(), waiter()];
    keys.wait({ stream: 2, counter: 1 }, covered);
    keys.wait({ stream: 2, counter: 2 }, later);
    keys.acked(2, 1, 40);
    keys.acked(2, 2, 41);
    keys.covered(40);
    expect(covered.outcome).toEqual({ seq: 40 });
    expect(later.outcome).toEqual({});
  });
});
