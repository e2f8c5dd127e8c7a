import { checkIn, checkInPrivately, listCheckins, type CheckinSnapshot } from '@mend/model';
import { describe, expect, it } from 'vitest';
import { safetyPoints } from './safetyPoints.js';
import { ALEX, SAM, pairSpace } from './testPair.js';

const at = Date.UTC(2026, 10, 20, 20, 0);
const SEALED = 'c2VhbGVkIGZvciBvbmUgc2VhdA';

function space() {
  const doc = pairSpace(at);
  checkIn(doc, { partnerId: ALEX, date: '2026-11-18', safety: 4, state: 'alert', at });
  checkInPrivately(doc, {
    partnerId: ALEX,
    date: '2026-11-19',
    scope: 'checkin',
    sealed: SEALED,
    at,
  });
  checkInPrivately(doc, {
    partnerId: ALEX,
    date: '2026-11-20',
    scope: 'note',
    safety: 6,
    state: 'calm',
    sealed: SEALED,
    at,
  });
  checkIn(doc, { partnerId: SAM, date: '2026-11-10', safety: 9, state: 'calm', at });
  return listCheckins(doc);
}

/** Stands in for the seat: Alex's devices open what Alex kept private. */
const readOwn = (c: CheckinSnapshot) =>
  c.private === 'checkin'
    ? { safety: 2, state: 'freeze' as const, note: 'hidden', private: c.private }
    : c.private === 'note'
      ? { safety: c.safety, state: c.state, note: 'hidden', private: c.private }
      : { safety: c.safety, state: c.state, note: c.note, private: null };

describe('felt safety as each partner reads it', () => {
  it('the author sees the days they kept private, opened', () => {
    expect(safetyPoints(space(), ALEX, ALEX, readOwn, '2026-11-01', '2026-11-30')).toEqual([
      { date: '2026-11-18', safety: 4, state: 'alert', private: null },
      { date: '2026-11-19', safety: 2, state: 'freeze', private: 'checkin' },
      { date: '2026-11-20', safety: 6, state: 'calm', private: 'note' },
    ]);
    // A day that does not open on this device (yet) is left out, not shown as empty.
    const closed = (c: CheckinSnapshot) => (c.private === null ? readOwn(c) : undefined);
    expect(
      safetyPoints(space(), ALEX, ALEX, closed, '2026-11-01', '2026-11-30').map((p) => p.date),
    ).toEqual(['2026-11-18']);
  });

  it('the other partner sees only that a private check-in was made, and what was shared', () => {
    const never = () => {
      throw new Error('the other partner never opens what Alex kept private');
    };
    expect(safetyPoints(space(), ALEX, SAM, never, '2026-11-01', '2026-11-30')).toEqual([
      { date: '2026-11-18', safety: 4, state: 'alert', private: null },
      { date: '2026-11-19', safety: null, state: null, private: 'checkin' },
      { date: '2026-11-20', safety: 6, state: 'calm', private: 'note' },
    ]);
  });

  it('keeps to the window and the partner asked for', () => {
    expect(safetyPoints(space(), SAM, ALEX, readOwn, '2026-11-11', '2026-11-30')).toEqual([]);
    expect(safetyPoints(space(), SAM, SAM, readOwn, '2026-11-01', '2026-11-30')).toEqual([
      { date: '2026-11-10', safety: 9, state: 'calm', private: null },
    ]);
  });
});
