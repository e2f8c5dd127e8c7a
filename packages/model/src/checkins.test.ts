import { describe, expect, it } from 'vitest';
import { checkIn, checkinKey, getCheckin, listCheckins } from './checkins.js';
import { ModelErrorCode } from './errors.js';
import { Origin } from './origin.js';
import { Limits } from './schema.js';
import {
  A,
  B,
  T0,
  codeOf,
  originsOf,
  replicaOf,
  sync,
  twoPartnerSpace,
} from './testing/fixtures.js';

describe('daily check-ins', () => {
  it('a check-in is stored under its (date, partner) key with safety, state and note', () => {
    const doc = twoPartnerSpace();
    const origins = originsOf(doc, () =>
      checkIn(doc, {
        partnerId: A,
        date: '2026-11-02',
        safety: 6,
        state: 'alert',
        note: 'tired',
        at: T0,
      }),
    );
    expect(origins).toEqual([Origin.checkIn]);
    expect(getCheckin(doc, '2026-11-02', A)).toEqual({
      key: checkinKey('2026-11-02', A),
      date: '2026-11-02',
      partnerId: A,
      safety: 6,
      state: 'alert',
      note: 'tired',
      private: null,
      createdAt: T0,
      updatedAt: T0,
    });
  });

  it('checking in again the same day updates the one check-in and keeps the note if none is given', () => {
    const doc = twoPartnerSpace();
    checkIn(doc, {
      partnerId: A,
      date: '2026-11-02',
      safety: 6,
      state: 'alert',
      note: 'tired',
      at: T0,
    });
    checkIn(doc, { partnerId: A, date: '2026-11-02', safety: 8, state: 'calm', at: T0 + 60_000 });
    expect(listCheckins(doc)).toHaveLength(1);
    expect(getCheckin(doc, '2026-11-02', A)).toMatchObject({
      safety: 8,
      state: 'calm',
      note: 'tired',
      createdAt: T0,
      updatedAt: T0 + 60_000,
    });
  });

  it('two devices of one partner checking in on the same day end with one check-in', () => {
    const doc = twoPartnerSpace();
    const other = replicaOf(doc);
    checkIn(doc, { partnerId: A, date: '2026-11-02', safety: 3, state: 'freeze', at: T0 });
    checkIn(other, { partnerId: A, date: '2026-11-02', safety: 7, state: 'calm', at: T0 + 1 });
    sync(doc, other);
    expect(listCheckins(doc)).toHaveLength(1);
    expect(listCheckins(other)).toEqual(listCheckins(doc));
  });

  it('check-ins are listed by date, then partner', () => {
    const doc = twoPartnerSpace();
    checkIn(doc, { partnerId: B, date: '2026-11-03', safety: 5, state: 'calm', at: T0 });
    checkIn(doc, { partnerId: A, date: '2026-11-03', safety: 5, state: 'calm', at: T0 });
    checkIn(doc, { partnerId: B, date: '2026-11-01', safety: 5, state: 'calm', at: T0 });
    expect(listCheckins(doc).map((c) => [c.date, c.partnerId])).toEqual([
      ['2026-11-01', B],
      ['2026-11-03', A],
      ['2026-11-03', B],
    ]);
  });

  it.each([
    ['safety above the scale', { safety: Limits.safetyMax + 1 }],
    ['safety below the scale', { safety: Limits.safetyMin - 1 }],
    ['fractional safety', { safety: 5.5 }],
    ['an unknown state', { state: 'panic' }],
    ['an impossible date', { date: '2026-13-01' }],
    ['a date with a time', { date: '2026-11-02T10:00' }],
    ['a long note', { note: 'x'.repeat(Limits.note + 1) }],
    ['an unknown partner', { partnerId: 'nobodyNOBODYnobody' }],
  ])('refuses %s and writes nothing', (_name, bad) => {
    const doc = twoPartnerSpace();
    const input = {
      partnerId: A,
      date: '2026-11-02',
      safety: 5,
      state: 'calm' as const,
      at: T0,
      ...bad,
    };
    const code = codeOf(() => checkIn(doc, input as Parameters<typeof checkIn>[1]));
    expect([ModelErrorCode.invalidArgument, ModelErrorCode.notFound]).toContain(code);
    expect(listCheckins(doc)).toEqual([]);
  });
});
