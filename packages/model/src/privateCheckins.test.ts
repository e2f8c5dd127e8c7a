import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { checkIn, checkinKey, getCheckin, listCheckins } from './checkins.js';
import { ModelErrorCode } from './errors.js';
import { Origin } from './origin.js';
import { checkInPrivately } from './privateCheckins.js';
import { roots } from './store.js';
import {
  A,
  B,
  T0,
  codeOf,
  originsOf,
  replicaOf,
  sync,
  twoPartnerSpace,
  updatesDuring,
} from './testing/fixtures.js';
import { checkinSeries, todayFor } from './views.js';

describe('a check-in kept private', () => {
  const DAY = '2026-11-02';
  const SEALED = 'c2VhbGVkIGZvciBvbmUgc2VhdA';
  const NOTE = 'I could not sleep after the call';
  /** The update bytes as text: what the other partner's devices receive. */
  const asText = (updates: Uint8Array[]) =>
    updates.map((u) => new TextDecoder().decode(u)).join('');

  it('keeps the note private: safety and state stay shared, the note is sealed and the open one gone', () => {
    const doc = twoPartnerSpace();
    checkIn(doc, { partnerId: A, date: DAY, safety: 6, state: 'alert', note: NOTE, at: T0 });
    const origins = originsOf(doc, () => {
      const sent = updatesDuring(doc, () =>
        checkInPrivately(doc, {
          partnerId: A,
          date: DAY,
          scope: 'note',
          safety: 6,
          state: 'alert',
          sealed: SEALED,
          at: T0 + 1,
        }),
      );
      expect(asText(sent)).toContain(SEALED);
      expect(asText(sent)).not.toContain(NOTE);
    });
    expect(origins).toEqual([Origin.checkInPrivately]);
    expect(getCheckin(doc, DAY, A)).toEqual({
      key: checkinKey(DAY, A),
      date: DAY,
      partnerId: A,
      safety: 6,
      state: 'alert',
      note: '',
      private: 'note',
      sealed: SEALED,
      createdAt: T0,
      updatedAt: T0 + 1,
    });
    // The document keeps no copy of the open note (a partner's device that had it, still has it).
    expect(new TextDecoder().decode(Y.encodeStateAsUpdate(doc))).not.toContain(NOTE);
    expect(checkinSeries(doc, { partnerId: A })).toEqual([
      { date: DAY, safety: 6, state: 'alert' },
    ]);
  });

  it('keeps the whole check-in private: no safety, state or note is shared, and it is not charted', () => {
    const doc = twoPartnerSpace();
    const other = replicaOf(doc);
    checkInPrivately(doc, { partnerId: A, date: DAY, scope: 'checkin', sealed: SEALED, at: T0 });
    sync(doc, other);
    const raw = roots(other).checkins.get(checkinKey(DAY, A))!.toJSON();
    expect(raw).toEqual({
      date: DAY,
      partnerId: A,
      createdAt: T0,
      note: '',
      private: { scope: 'checkin', sealed: SEALED },
      updatedAt: T0,
    });
    const expected = {
      key: checkinKey(DAY, A),
      date: DAY,
      partnerId: A,
      private: 'checkin',
      sealed: SEALED,
      createdAt: T0,
      updatedAt: T0,
    };
    expect(getCheckin(other, DAY, A)).toEqual(expected);
    expect(todayFor(other, { partnerId: A, date: DAY }).checkin).toEqual(expected);
    expect(checkinSeries(other, { partnerId: A })).toEqual([]);
  });

  it('an open check-in made private whole later removes its safety and state too', () => {
    const doc = twoPartnerSpace();
    checkIn(doc, { partnerId: A, date: DAY, safety: 2, state: 'freeze', note: NOTE, at: T0 });
    checkInPrivately(doc, {
      partnerId: A,
      date: DAY,
      scope: 'checkin',
      sealed: SEALED,
      at: T0 + 1,
    });
    const raw = roots(doc).checkins.get(checkinKey(DAY, A))!;
    expect([raw.has('safety'), raw.has('state'), raw.get('note')]).toEqual([false, false, '']);
    expect(getCheckin(doc, DAY, A)).toMatchObject({ private: 'checkin', createdAt: T0 });
  });

  it('is shared again by checking in with a note; without one, a private note stays private', () => {
    const doc = twoPartnerSpace();
    const note = { partnerId: A, date: DAY, scope: 'note' as const, sealed: SEALED };
    checkInPrivately(doc, { ...note, safety: 4, state: 'calm', at: T0 });
    checkIn(doc, { partnerId: A, date: DAY, safety: 5, state: 'calm', at: T0 + 1 });
    expect(getCheckin(doc, DAY, A)).toMatchObject({ safety: 5, private: 'note', sealed: SEALED });
    checkIn(doc, { partnerId: A, date: DAY, safety: 5, state: 'calm', note: 'ok', at: T0 + 2 });
    expect(getCheckin(doc, DAY, A)).toMatchObject({ safety: 5, note: 'ok', private: null });
    expect(roots(doc).checkins.get(checkinKey(DAY, A))!.has('private')).toBe(false);
  });

  it('a check-in kept private whole is shared again only with its note given', () => {
    const doc = twoPartnerSpace();
    checkInPrivately(doc, { partnerId: A, date: DAY, scope: 'checkin', sealed: SEALED, at: T0 });
    const refused = updatesDuring(doc, () =>
      expect(
        codeOf(() => checkIn(doc, { partnerId: A, date: DAY, safety: 5, state: 'calm', at: T0 })),
      ).toBe(ModelErrorCode.invalidArgument),
    );
    expect(refused).toEqual([]);
    checkIn(doc, { partnerId: A, date: DAY, safety: 5, state: 'calm', note: '', at: T0 + 1 });
    expect(getCheckin(doc, DAY, A)).toMatchObject({ safety: 5, state: 'calm', private: null });
  });

  it.each([
    ['a sealed text that is not base64url', { sealed: 'not base64url!' }],
    ['an empty sealed text', { sealed: '' }],
    ['a sealed text longer than the limit', { sealed: 'A'.repeat(12 * 1024 + 4) }],
    ['an unknown scope', { scope: 'all' }],
    ['a note scope without safety', { scope: 'note', safety: undefined }],
    ['an unknown partner', { partnerId: 'nobodyNOBODYnobody' }],
    ['an impossible date', { date: '2026-02-30' }],
  ])('refuses %s and writes nothing', (_name, bad) => {
    const doc = twoPartnerSpace();
    const input = {
      partnerId: A,
      date: DAY,
      scope: 'note',
      safety: 5,
      state: 'calm',
      sealed: SEALED,
      at: T0,
      ...bad,
    };
    const updates = updatesDuring(doc, () => {
      const code = codeOf(() =>
        checkInPrivately(doc, input as Parameters<typeof checkInPrivately>[1]),
      );
      expect([ModelErrorCode.invalidArgument, ModelErrorCode.notFound]).toContain(code);
    });
    expect(updates).toEqual([]);
    expect(listCheckins(doc)).toEqual([]);
  });

  it('reads a private part that is not one as no check-in, rather than as an open one', () => {
    const doc = twoPartnerSpace();
    checkIn(doc, { partnerId: B, date: DAY, safety: 5, state: 'calm', note: 'x', at: T0 });
    roots(doc).checkins.get(checkinKey(DAY, B))!.set('private', { scope: 'note' });
    expect(getCheckin(doc, DAY, B)).toBeNull();
  });
});
