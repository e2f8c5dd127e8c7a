/**
 * SPEC.md "Authorship" for the practices: who may write a daily share, its heard mark and a
 * break (README.md, "Who owns what"). Partner A's forging device writes; both checkers judge.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { callBreak, endBreak, getBreak, listBreaks, takeMoreTime } from './breaks.js';
import type { BreakId, ShareKey } from './ids.js';
import { Limits } from './schema.js';
import { getShare, markShareHeard, saveShare, shareKey, sharesToHear } from './shares.js';
import { roots } from './store.js';
import { A, B, T0 } from './testing/fixtures.js';
import { SealedRun, writtenOn, type Device } from './testing/sealedRun.js';
import { FORGER, accepted, forged, refusedAs } from './testing/verdicts.js';

/** T0 is 09:00 UTC on this day, so it is the day of every write below in some time zone. */
const TODAY = '2026-11-01';

interface Practised {
  readonly run: SealedRun;
  /** A's share, heard by B. */
  readonly ownShare: ShareKey;
  /** B's share, heard by A. */
  readonly theirShare: ShareKey;
  /** A's break, ended. */
  readonly ownBreak: BreakId;
  /** B's break, open. */
  readonly theirBreak: BreakId;
}

function hear(device: Device, author: typeof A, at: number): void {
  const share = getShare(device.doc, TODAY, author)!;
  markShareHeard(device.doc, {
    shareKey: share.key,
    by: device.partnerId,
    fingerprint: share.fingerprint,
    at,
  });
}

/** Both partners have shared today and heard each other; A has had a break, B is on one. */
function practised(): Practised {
  const run = new SealedRun();
  const [a1, b1] = [run.device('a1'), run.device('b1')];
  const at = T0 + 60_000;
  run.write(b1, (doc) => {
    saveShare(doc, { partnerId: B, date: TODAY, feelings: ['hurt'], needs: 'Time.', at });
    saveShare(doc, { partnerId: B, date: TODAY, feelings: ['hurt', 'tired'], at: at + 1 });
    callBreak(doc, { by: B, minutes: 20, date: TODAY, at }, b1.newId);
  });
  run.write(a1, (doc) => {
    saveShare(doc, { partnerId: A, date: TODAY, feelings: ['ashamed'], ownership: 'I lied.', at });
    hear(a1, B, at);
    const own = callBreak(doc, { by: A, minutes: 30, date: TODAY, at }, a1.newId);
    endBreak(doc, { breakId: own.id, by: A, at: at + 60_000 });
  });
  run.write(b1, () => hear(b1, A, at + 2));
  const ownOf = (by: typeof A) => listBreaks(run.sequenced).find((b) => b.by === by)!.id;
  return {
    run,
    ownShare: shareKey(TODAY, A),
    theirShare: shareKey(TODAY, B),
    ownBreak: ownOf(A),
    theirBreak: ownOf(B),
  };
}

/** A break written by hand, as a forger would, called by `by` for `minutes`. */
const rawBreak = (by: typeof A, minutes: number) => (doc: Y.Doc) => {
  const id = 'breakXXXXXXXXXXXXXXX';
  const b = new Y.Map<unknown>();
  roots(doc).breaks.set(id, b);
  for (const [k, v] of Object.entries({ id, by, date: TODAY, minutes, calledAt: T0 })) b.set(k, v);
};

const share = (doc: Y.Doc, key: ShareKey) => roots(doc).shares.get(key)!;
const aBreak = (doc: Y.Doc, id: BreakId) => roots(doc).breaks.get(id)!;

describe('daily shares', () => {
  it("accepts a partner's share, its change on its day and their hearing of the other's, each from their own device", () => {
    const { run } = practised();
    expect(run.log.map((e) => [e.verdict.ok, e.oracle.ok])).toEqual(
      run.log.map(() => [true, true]),
    );
    expect(run.disagreements).toEqual([]);
    expect(getShare(run.sequenced, TODAY, B)?.heard).toMatchObject({ by: A, ofCurrentWords: true });
    expect(getShare(run.sequenced, TODAY, A)?.heard).toMatchObject({ by: B, ofCurrentWords: true });
    expect(
      forged(run, (doc) => {
        saveShare(doc, { partnerId: A, date: '2026-10-31', feelings: ['calm'], at: T0 });
        saveShare(doc, {
          partnerId: A,
          date: '2026-10-31',
          feelings: [],
          feelingWords: 'ok',
          at: T0,
        });
      }),
    ).toEqual(accepted);
  });

  it('refuses a share written for the other partner, a change of theirs and its deletion', () => {
    const { run, theirShare } = practised();
    expect(
      forged(run, (doc) =>
        saveShare(doc, { partnerId: B, date: '2026-10-31', feelings: ['angry'], at: T0 }),
      ),
    ).toEqual(refusedAs('others-content'));
    expect(forged(run, (doc) => share(doc, theirShare).set('needs', 'Nothing.'))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => roots(doc).shares.delete(theirShare))).toEqual(
      refusedAs('others-content'),
    );
  });

  it("refuses marking one's own share heard, a mark in the other partner's name, and taking a mark back", () => {
    const { run, ownShare, theirShare } = practised();
    const mark = (by: typeof A) => ({ by, at: T0, fingerprint: 'f' });
    // On A's own share: B's mark is not A's to write, in either name, nor to remove.
    expect(forged(run, (doc) => share(doc, ownShare).set('heard', mark(A)))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => share(doc, ownShare).set('heard', mark(B)))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => share(doc, ownShare).delete('heard'))).toEqual(
      refusedAs('others-content'),
    );
    // On B's share the mark is A's, in A's name only, and once made it stays.
    expect(forged(run, (doc) => share(doc, theirShare).set('heard', mark(B)))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => share(doc, theirShare).delete('heard'))).toEqual(
      refusedAs('schema'),
    );
  });

  it("refuses rewriting a share's day, author or creation, and values the model never writes", () => {
    const { run, ownShare } = practised();
    const set = (key: string, value: unknown) =>
      forged(run, (doc) => share(doc, ownShare).set(key, value));
    // The day and the author are the key's: any other value contradicts it.
    expect(set('date', '2026-10-31')).toEqual(refusedAs('schema'));
    expect(set('partnerId', B)).toEqual(refusedAs('schema'));
    expect(set('createdAt', T0)).toEqual(refusedAs('immutable'));
    // Feelings from the list, in its order, each once: one choice, one stored value.
    expect(set('feelings', ['tired', 'sad'])).toEqual(refusedAs('schema'));
    expect(set('feelings', ['sad', 'sad'])).toEqual(refusedAs('schema'));
    expect(set('feelings', ['joyful'])).toEqual(refusedAs('schema'));
    expect(set('feelings', 'sad')).toEqual(refusedAs('schema'));
    expect(set('needs', 'x'.repeat(Limits.shareText + 1))).toEqual(refusedAs('schema'));
    expect(set('needs', 'x'.repeat(Limits.shareText))).toEqual(accepted);
    expect(set('reply', 'Thanks')).toEqual(refusedAs('schema'));
  });

  it('refuses a share whose fields contradict its key, or that lacks a part', () => {
    const { run } = practised();
    const fields = {
      date: '2026-10-31',
      partnerId: A,
      createdAt: T0,
      feelings: ['calm'],
      feelingWords: '',
      affirmation: '',
      needs: '',
      ownership: '',
      struggles: '',
      updatedAt: T0,
    };
    const write = (key: string, values: Record<string, unknown>) => (doc: Y.Doc) => {
      const s = new Y.Map<unknown>();
      roots(doc).shares.set(key, s);
      for (const [k, v] of Object.entries(values)) s.set(k, v);
    };
    expect(forged(run, write(shareKey('2026-10-31', A), fields))).toEqual(accepted);
    expect(forged(run, write(shareKey('2026-10-30', A), fields))).toEqual(refusedAs('schema'));
    const { struggles: _, ...lacking } = fields;
    expect(forged(run, write(shareKey('2026-10-31', A), lacking))).toEqual(refusedAs('schema'));
  });

  it('accepts the author changing a heard share, which the mark then no longer covers: a device the mark had not reached cannot be told from one that ignores it (SPEC.md 26)', () => {
    const { run, ownShare } = practised();
    const change = writtenOn(run.sequenced, FORGER, (doc) =>
      share(doc, ownShare).set('ownership', 'I lied, twice.'),
    );
    expect(forged(run, (doc) => share(doc, ownShare).set('ownership', 'I lied, twice.'))).toEqual(
      accepted,
    );
    Y.applyUpdate(run.sequenced, change);
    expect(getShare(run.sequenced, TODAY, A)?.heard).toMatchObject({ ofCurrentWords: false });
    expect(sharesToHear(run.sequenced, B).map((s) => s.key)).toEqual([ownShare]);
  });

  it("accepts a second mark from the listener's other device made before the first reached it, and the new words heard after a change the mark had not reached", () => {
    const run = new SealedRun();
    const [a1, a2, b1, b2] = ['a1', 'a2', 'b1', 'b2'].map((name) => run.device(name));
    run.write(a1!, (doc) =>
      saveShare(doc, { partnerId: A, date: TODAY, feelings: ['anxious'], at: T0 }),
    );
    // B's devices both hear it; b2's mark is sequenced first and wins on b1, whose own mark is
    // then sent as deleted (a state-vector diff).
    hear(b2!, A, T0 + 1);
    hear(b1!, A, T0 + 2);
    run.send(b2!, 'merged');
    run.deliver(b1!);
    run.send(b1!, 'diff');
    // a2 has not received the marks when it changes the share; B then hears the new words.
    saveShare(a2!.doc, { partnerId: A, date: TODAY, feelings: ['anxious', 'hopeful'], at: T0 + 3 });
    run.send(a2!, 'merged');
    run.deliver(b1!);
    expect(getShare(b1!.doc, TODAY, A)?.heard).toMatchObject({ ofCurrentWords: false });
    hear(b1!, A, T0 + 4);
    run.send(b1!, 'each');
    for (const device of run.devices) run.deliver(device);
    expect(run.log.map((e) => [e.verdict.ok, e.oracle.ok])).toEqual(
      run.log.map(() => [true, true]),
    );
    expect(run.disagreements).toEqual([]);
    expect(getShare(run.sequenced, TODAY, A)?.heard).toMatchObject({ by: B, ofCurrentWords: true });
  });
});

describe('breaks', () => {
  it("accepts calling and ending one's own break, from one's own device", () => {
    const { run, ownBreak } = practised();
    expect(getBreak(run.sequenced, ownBreak)?.status).toBe('ended-early');
    expect(
      forged(run, (doc) => {
        const b = callBreak(doc, { by: A, minutes: 60, date: TODAY, at: T0 + 3_600_000 });
        expect(endBreak(doc, { breakId: b.id, by: A, at: T0 + 3_600_001 })).toBe(true);
      }),
    ).toEqual(accepted);
  });

  it("accepts more time on one's own break once its time has come, and refuses it on the other's", () => {
    const { run, theirBreak } = practised();
    expect(
      forged(run, (doc) => {
        const b = callBreak(doc, { by: A, minutes: 10, date: TODAY, at: T0 + 3_600_000 });
        takeMoreTime(doc, { breakId: b.id, by: A, minutes: 20, date: TODAY, at: b.returnAt });
      }),
    ).toEqual(accepted);
    const returnAt = getBreak(run.sequenced, theirBreak)!.returnAt;
    expect(
      forged(run, (doc) =>
        takeMoreTime(doc, { breakId: theirBreak, by: B, minutes: 20, date: TODAY, at: returnAt }),
      ),
    ).toEqual(refusedAs('others-content'));
  });

  it("refuses ending, changing or deleting the other partner's break, and calling one in their name", () => {
    const { run, theirBreak } = practised();
    expect(forged(run, (doc) => aBreak(doc, theirBreak).set('endedAt', T0 + 5))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => endBreak(doc, { breakId: theirBreak, by: B, at: T0 + 5 }))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => aBreak(doc, theirBreak).set('minutes', 60))).toEqual(
      refusedAs('immutable'),
    );
    expect(forged(run, (doc) => roots(doc).breaks.delete(theirBreak))).toEqual(
      refusedAs('immutable'),
    );
    expect(forged(run, rawBreak(B, 10))).toEqual(refusedAs('others-content'));
    expect(forged(run, rawBreak(A, 10))).toEqual(accepted);
  });

  it("refuses moving one's own break's call, return time or day, taking its end back, and a length the app does not offer", () => {
    const { run, ownBreak } = practised();
    const set = (key: string, value: unknown) =>
      forged(run, (doc) => aBreak(doc, ownBreak).set(key, value));
    expect(set('minutes', 60)).toEqual(refusedAs('immutable'));
    expect(set('calledAt', T0)).toEqual(refusedAs('immutable'));
    expect(set('date', '2026-10-31')).toEqual(refusedAs('immutable'));
    expect(set('by', B)).toEqual(refusedAs('others-content'));
    expect(set('endedAt', 'soon')).toEqual(refusedAs('schema'));
    expect(forged(run, (doc) => aBreak(doc, ownBreak).delete('endedAt'))).toEqual(
      refusedAs('schema'),
    );
    expect(forged(run, rawBreak(A, 15))).toEqual(refusedAs('schema'));
  });

  it("accepts a second end from the caller's other device made before the first reached it, whichever wins (SPEC.md 27)", () => {
    for (const [first, second] of [
      ['a1', 'a2'],
      ['a2', 'a1'],
    ] as const) {
      const run = new SealedRun();
      const a1 = run.device('a1');
      run.write(a1, (doc) => callBreak(doc, { by: A, minutes: 10, date: TODAY, at: T0 }, a1.newId));
      const id = listBreaks(run.sequenced)[0]!.id;
      endBreak(run.device(first).doc, { breakId: id, by: A, at: T0 + 60_000 });
      endBreak(run.device(second).doc, { breakId: id, by: A, at: T0 + 1_200_000 });
      run.send(run.device(first), 'merged');
      // The second device learns of the first end only now, and sends what it has (a diff).
      run.deliver(run.device(second));
      run.send(run.device(second), 'diff');
      for (const device of run.devices) run.deliver(device);
      expect(run.log.map((e) => [e.verdict.ok, e.oracle.ok])).toEqual(
        run.log.map(() => [true, true]),
      );
      expect(run.disagreements).toEqual([]);
      const ends = run.devices.map((d) => getBreak(d.doc, id)?.endedAt);
      expect(ends).toEqual(ends.map(() => getBreak(run.sequenced, id)?.endedAt));
    }
  });
});
