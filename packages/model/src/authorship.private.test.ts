/**
 * SPEC.md "Authorship" for check-ins kept private (46): only their author keeps one private,
 * changes what is sealed, or shares it again. Partner A's forging device writes; both checkers
 * judge.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { checkIn, checkinKey, getCheckin } from './checkins.js';
import { checkInPrivately } from './privateCheckins.js';
import { roots } from './store.js';
import { A, B, T0 } from './testing/fixtures.js';
import { SealedRun, writtenOn } from './testing/sealedRun.js';
import { FORGER, accepted, forged, refusedAs } from './testing/verdicts.js';

const DAY = '2026-11-02';
const SEALED = 'c2VhbGVkIGZvciBvbmUgc2VhdA';

/** Each partner has checked in openly on DAY; B has kept the day before private. */
function checkedIn(): SealedRun {
  const run = new SealedRun();
  const [a1, b1] = [run.device('a1'), run.device('b1')];
  const at = T0 + 60_000;
  run.write(a1, (doc) =>
    checkIn(doc, { partnerId: A, date: DAY, safety: 4, state: 'alert', note: 'Tense.', at }),
  );
  run.write(b1, (doc) => {
    checkIn(doc, { partnerId: B, date: DAY, safety: 7, state: 'calm', note: 'Better.', at });
    checkInPrivately(doc, {
      partnerId: B,
      date: '2026-11-01',
      scope: 'checkin',
      sealed: SEALED,
      at,
    });
  });
  expect(run.log.every((e) => e.verdict.ok && e.oracle.ok)).toBe(true);
  return run;
}

describe('a check-in kept private', () => {
  it('is its author’s to keep private, whole or its note, from the first write or later, and to share again', () => {
    const run = checkedIn();
    const at = T0 + 120_000;
    // A new day kept private whole: written without safety or state.
    expect(
      forged(run, (doc) =>
        checkInPrivately(doc, {
          partnerId: A,
          date: '2026-11-03',
          scope: 'checkin',
          sealed: SEALED,
          at,
        }),
      ),
    ).toEqual(accepted);
    // The day already shared: its note, or all of it, kept private from now on.
    expect(
      forged(run, (doc) =>
        checkInPrivately(doc, {
          partnerId: A,
          date: DAY,
          scope: 'note',
          safety: 5,
          state: 'calm',
          sealed: SEALED,
          at,
        }),
      ),
    ).toEqual(accepted);
    expect(
      forged(run, (doc) =>
        checkInPrivately(doc, { partnerId: A, date: DAY, scope: 'checkin', sealed: SEALED, at }),
      ),
    ).toEqual(accepted);
  });

  it("refuses the other partner keeping a partner's check-in private, changing what is sealed, or sharing it again", () => {
    const run = checkedIn();
    const open = checkinKey(DAY, B);
    const kept = checkinKey('2026-11-01', B);
    expect(getCheckin(run.sequenced, '2026-11-01', B)).toMatchObject({ private: 'checkin' });
    expect(
      forged(run, (doc) =>
        roots(doc).checkins.get(open)!.set('private', { scope: 'note', sealed: SEALED }),
      ),
    ).toEqual(refusedAs('others-content'));
    expect(
      forged(run, (doc) =>
        roots(doc).checkins.get(kept)!.set('private', { scope: 'note', sealed: 'b3RoZXI' }),
      ),
    ).toEqual(refusedAs('others-content'));
    expect(forged(run, (doc) => roots(doc).checkins.get(kept)!.delete('private'))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => roots(doc).checkins.get(open)!.delete('safety'))).toEqual(
      refusedAs('others-content'),
    );
  });

  it('refuses a private part that is not one, even on the author’s own check-in', () => {
    const run = checkedIn();
    const own = checkinKey(DAY, A);
    for (const value of [
      { scope: 'all', sealed: SEALED },
      { scope: 'note', sealed: 'not base64url!' },
      { scope: 'note', sealed: SEALED, note: 'Tense.' },
      { scope: 'note' },
      'yes',
    ]) {
      expect(forged(run, (doc) => roots(doc).checkins.get(own)!.set('private', value))).toEqual(
        refusedAs('schema'),
      );
    }
  });

  it('lets the author write their own check-in without safety and not private, which reads as none (a known limit)', () => {
    const run = checkedIn();
    const day = '2026-11-04';
    const update = (doc: Y.Doc) => {
      checkIn(doc, { partnerId: A, date: day, safety: 3, state: 'calm', at: T0 });
      roots(doc).checkins.get(checkinKey(day, A))!.delete('safety');
    };
    // Since a private check-in is written without safety and state, the table cannot require
    // them; such a write only hides the author's own day, which they could keep private anyway.
    expect(forged(run, update)).toEqual(accepted);
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(run.sequenced));
    Y.applyUpdate(copy, writtenOn(run.sequenced, FORGER, update));
    expect(roots(copy).checkins.has(checkinKey(day, A))).toBe(true);
    expect(getCheckin(copy, day, A)).toBeNull();
    // The other partner's check-in cannot be written at all.
    expect(
      forged(run, (doc) =>
        checkIn(doc, { partnerId: B, date: day, safety: 3, state: 'calm', at: T0 }),
      ),
    ).toEqual(refusedAs('others-content'));
  });
});
