import { describe, expect, it } from 'vitest';
import { callBreak, endBreak, getBreak, listBreaks, openBreakOf, takeMoreTime } from './breaks.js';
import { ModelErrorCode } from './errors.js';
import type { BreakId } from './ids.js';
import { Origin } from './origin.js';
import { BreakLength, BreakStatus } from './schema.js';
import {
  A,
  B,
  T0,
  codeOf,
  counterIds,
  originsOf,
  replicaOf,
  sync,
  twoPartnerSpace,
  updatesDuring,
} from './testing/fixtures.js';
import { todayFor } from './views.js';

const DAY = '2026-11-01';
const MINUTE = 60_000;

describe('breaks', () => {
  it('a partner calls a break and the return time is the call plus the length they chose', () => {
    const doc = twoPartnerSpace();
    let called: ReturnType<typeof callBreak> | undefined;
    expect(
      originsOf(doc, () => {
        called = callBreak(doc, { by: A, minutes: BreakLength.twenty, date: DAY, at: T0 });
      }),
    ).toEqual([Origin.callBreak]);
    expect(called).toMatchObject({
      by: A,
      date: DAY,
      minutes: 20,
      calledAt: T0,
      returnAt: T0 + 20 * MINUTE,
      endedAt: null,
      status: BreakStatus.open,
    });
    expect(openBreakOf(doc, A)).toEqual(called);
    expect(openBreakOf(doc, B)).toBeNull();
  });

  it('refuses a length that is not offered and a day that is not today', () => {
    const doc = twoPartnerSpace();
    const call = (minutes: number, date = DAY) =>
      callBreak(doc, { by: A, minutes: minutes as BreakLength, date, at: T0 });
    for (const minutes of [0, 15, 61, -10, 20.5]) {
      expect(updatesDuring(doc, () => call(minutes))).toEqual([]);
      expect(codeOf(() => call(minutes))).toBe(ModelErrorCode.invalidArgument);
    }
    expect(codeOf(() => call(10, '2026-10-20'))).toBe(ModelErrorCode.invalidArgument);
    expect(listBreaks(doc)).toEqual([]);
  });

  it('allows one open break per partner; each partner may have their own', () => {
    const doc = twoPartnerSpace();
    callBreak(doc, { by: A, minutes: 10, date: DAY, at: T0 });
    expect(codeOf(() => callBreak(doc, { by: A, minutes: 30, date: DAY, at: T0 + 1 }))).toBe(
      ModelErrorCode.notAllowed,
    );
    callBreak(doc, { by: B, minutes: 30, date: DAY, at: T0 + 1 });
    expect(todayFor(doc, { partnerId: B, date: DAY }).openBreaks.map((b) => b.by)).toEqual([A, B]);
  });

  it('only the caller ends a break, once: back after the named time is a return, before it an early end', () => {
    const doc = twoPartnerSpace();
    const early = callBreak(doc, { by: A, minutes: 10, date: DAY, at: T0 });
    expect(codeOf(() => endBreak(doc, { breakId: early.id, by: B, at: T0 + MINUTE }))).toBe(
      ModelErrorCode.notAllowed,
    );
    expect(
      originsOf(doc, () =>
        expect(endBreak(doc, { breakId: early.id, by: A, at: T0 + 5 * MINUTE })).toBe(true),
      ),
    ).toEqual([Origin.endBreak]);
    expect(getBreak(doc, early.id)).toMatchObject({
      endedAt: T0 + 5 * MINUTE,
      status: BreakStatus.endedEarly,
    });
    // A second "I'm back" (another device, a double tap) writes nothing and keeps the first end.
    expect(
      updatesDuring(doc, () =>
        expect(endBreak(doc, { breakId: early.id, by: A, at: T0 + 9 * MINUTE })).toBe(false),
      ),
    ).toEqual([]);
    expect(getBreak(doc, early.id)!.endedAt).toBe(T0 + 5 * MINUTE);

    const full = callBreak(doc, { by: A, minutes: 10, date: DAY, at: T0 + 20 * MINUTE });
    endBreak(doc, { breakId: full.id, by: A, at: T0 + 30 * MINUTE });
    expect(getBreak(doc, full.id)!.status).toBe(BreakStatus.returned);
    expect(openBreakOf(doc, A)).toBeNull();
    expect(
      codeOf(() => endBreak(doc, { breakId: 'nosuchbreak000000' as BreakId, by: A, at: T0 })),
    ).toBe(ModelErrorCode.notFound);
  });

  it('past the named time the caller can take more time: the break is returned and a new one starts, in one change', () => {
    const caller = twoPartnerSpace();
    const partner = replicaOf(caller);
    const first = callBreak(caller, { by: A, minutes: 20, date: DAY, at: T0 });
    sync(caller, partner);
    const late = first.returnAt + 5 * MINUTE;
    let next: ReturnType<typeof takeMoreTime> | undefined;
    const updates = updatesDuring(caller, () => {
      expect(
        originsOf(caller, () => {
          next = takeMoreTime(caller, {
            breakId: first.id,
            by: A,
            minutes: 10,
            date: DAY,
            at: late,
          });
        }),
      ).toEqual([Origin.takeMoreTime]);
    });
    // One update: the partner never sees the caller back in between.
    expect(updates).toHaveLength(1);
    expect(getBreak(caller, first.id)).toMatchObject({
      endedAt: late,
      status: BreakStatus.returned,
    });
    expect(next).toMatchObject({
      by: A,
      calledAt: late,
      returnAt: late + 10 * MINUTE,
      status: BreakStatus.open,
    });
    sync(caller, partner);
    expect(todayFor(partner, { partnerId: B, date: DAY }).openBreaks).toEqual([next]);
  });

  it('more time is refused before the named time, to the other partner, on an ended break and for a length not offered, writing nothing', () => {
    const doc = twoPartnerSpace();
    const b = callBreak(doc, { by: A, minutes: 10, date: DAY, at: T0 });
    const more = (input: Partial<Parameters<typeof takeMoreTime>[1]>) => () =>
      takeMoreTime(doc, {
        breakId: b.id,
        by: A,
        minutes: 10,
        date: DAY,
        at: b.returnAt,
        ...input,
      });
    const refusals = [
      [more({ at: b.returnAt - 1 }), ModelErrorCode.invalidArgument],
      [more({ by: B }), ModelErrorCode.notAllowed],
      [more({ minutes: 15 as BreakLength }), ModelErrorCode.invalidArgument],
      [more({ date: '2026-10-20' }), ModelErrorCode.invalidArgument],
      [more({ breakId: 'nosuchbreak000000' as BreakId }), ModelErrorCode.notFound],
    ] as const;
    for (const [attempt, code] of refusals) {
      expect(updatesDuring(doc, () => codeOf(attempt))).toEqual([]);
      expect(codeOf(attempt)).toBe(code);
    }
    endBreak(doc, { breakId: b.id, by: A, at: b.returnAt });
    expect(codeOf(more({ at: b.returnAt + MINUTE }))).toBe(ModelErrorCode.notAllowed);
    expect(listBreaks(doc)).toHaveLength(1);
  });

  it('an end from a device with a slow clock is never earlier than the call', () => {
    const doc = twoPartnerSpace();
    const b = callBreak(doc, { by: A, minutes: 10, date: DAY, at: T0 });
    endBreak(doc, { breakId: b.id, by: A, at: T0 - 5 * MINUTE });
    expect(getBreak(doc, b.id)).toMatchObject({ endedAt: T0, status: BreakStatus.endedEarly });
  });

  it('two devices of one partner calling a break unaware of each other leave one open, the later', () => {
    const phone = twoPartnerSpace();
    const laptop = replicaOf(phone);
    const first = callBreak(phone, { by: A, minutes: 10, date: DAY, at: T0 }, counterIds('phone'));
    const second = callBreak(
      laptop,
      { by: A, minutes: 20, date: DAY, at: T0 + 1000 },
      counterIds('laptop'),
    );
    sync(phone, laptop);
    for (const doc of [phone, laptop]) {
      expect(listBreaks(doc).map((b) => [b.id, b.status])).toEqual([
        [first.id, BreakStatus.replaced],
        [second.id, BreakStatus.open],
      ]);
    }
  });

  it('the partner sees a break called on the other device once it arrives', () => {
    const caller = twoPartnerSpace();
    const partner = replicaOf(caller);
    callBreak(caller, { by: A, minutes: 30, date: DAY, at: T0 });
    expect(todayFor(partner, { partnerId: B, date: DAY }).openBreaks).toEqual([]);
    sync(caller, partner);
    expect(todayFor(partner, { partnerId: B, date: DAY }).openBreaks).toMatchObject([
      { by: A, returnAt: T0 + 30 * MINUTE },
    ]);
  });
});
