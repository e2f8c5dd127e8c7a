/**
 * Property tests for SPEC.md, "Daily shares" and "Breaks": replicas (two devices of each partner,
 * or one each) save shares, mark them heard, call and end breaks (or take more time), exchange
 * updates in random
 * order with duplicates and delays, and must end identical with every invariant holding.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { callBreak, endBreak, listBreaks, takeMoreTime } from './breaks.js';
import { ModelError } from './errors.js';
import type { IdGenerator, PartnerId } from './ids.js';
import { BreakLength, BreakStatus, Feeling, type ShareContent } from './schema.js';
import {
  listShares,
  markShareHeard,
  saveShare,
  shareFingerprint,
  shareKey,
  sharesToHear,
} from './shares.js';
import { roots } from './store.js';
import { A, B, T0, counterIds, twoPartnerSpace } from './testing/fixtures.js';
import { Network } from './testing/network.js';
import { todayFor } from './views.js';

const PARTNERS = [A, B] as const;
// T0 is 2026-11-01 09:00 UTC: the first two days hold that moment in some time zone, the third
// does not, so writes for it are refused.
const DATES = ['2026-11-01', '2026-10-31', '2026-10-30'];
const WORDS = ['tired', 'thank you', 'I own', 'a walk', 'slip', 'é', '🌱', ''];
const FEELINGS = Object.values(Feeling);

const text = fc.array(fc.constantFrom(...WORDS), { maxLength: 3 }).map((w) => w.join(' ').trim());
const pick = fc.nat({ max: 1000 });

const op = fc.oneof(
  fc.record({
    t: fc.constant('share' as const),
    date: fc.constantFrom(...DATES),
    feelings: fc.subarray(FEELINGS, { maxLength: 3 }),
    feelingWords: text,
    needs: text,
    struggles: text,
  }),
  fc.record({ t: fc.constant('heard' as const), pick, stale: fc.boolean() }),
  fc.record({
    t: fc.constant('break' as const),
    date: fc.constantFrom(...DATES),
    minutes: fc.constantFrom<number>(...Object.values(BreakLength), 15),
  }),
  fc.record({ t: fc.constant('back' as const), pick, late: fc.boolean() }),
  fc.record({
    t: fc.constant('more' as const),
    pick,
    late: fc.boolean(),
    minutes: fc.constantFrom<number>(...Object.values(BreakLength), 15),
  }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** Everything on one day between both partners' devices: the races the invariants are about. */
const contendedOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant('share' as const),
    date: fc.constant(DATES[0]!),
    feelings: fc.subarray(FEELINGS, { minLength: 1, maxLength: 2 }),
    feelingWords: fc.constant(''),
    needs: text,
    struggles: fc.constant(''),
  }),
  fc.record({ t: fc.constant('heard' as const), pick, stale: fc.boolean() }),
  fc.record({
    t: fc.constant('break' as const),
    date: fc.constant(DATES[0]!),
    minutes: fc.constant<number>(BreakLength.ten),
  }),
  fc.record({ t: fc.constant('back' as const), pick, late: fc.boolean() }),
  fc.record({
    t: fc.constant('more' as const),
    pick,
    late: fc.constant(true),
    minutes: fc.constant<number>(BreakLength.ten),
  }),
);

const step = (replicas: number, ops: fc.Arbitrary<Op>) =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('op' as const),
        replica: fc.nat({ max: replicas - 1 }),
        partner: fc.constantFrom(0, 1),
        op: ops,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('deliver' as const),
        to: fc.nat({ max: replicas - 1 }),
        pick,
        duplicate: fc.boolean(),
      }),
    },
  );

/** What the harness knows happened, to check the invariants against. */
interface Record {
  /** Every successful "I heard you": who heard which share, and exactly which words. */
  readonly marks: { key: string; by: PartnerId; fingerprint: string }[];
  /** Every break called, with its caller. */
  readonly calls: Map<string, PartnerId>;
  /** Every successful "I'm back": by whom, and the end it records. */
  readonly ends: { breakId: string; by: PartnerId; endedAt: number }[];
  /** The fingerprint each replica last showed for each share (for stale marks). */
  readonly shown: Map<string, string>;
}

function nth<T>(items: readonly T[], n: number): T | undefined {
  return items.length === 0 ? undefined : items[n % items.length];
}

function apply(
  net: Network,
  replica: number,
  partnerId: PartnerId,
  o: Op,
  at: number,
  newId: IdGenerator,
  record: Record,
): void {
  const doc = net.docs[replica]!;
  switch (o.t) {
    case 'share':
      saveShare(doc, {
        partnerId,
        date: o.date,
        feelings: o.feelings,
        feelingWords: o.feelingWords,
        needs: o.needs,
        struggles: o.struggles,
        at,
      });
      return;
    case 'heard': {
      const share = nth(listShares(doc), o.pick);
      if (!share) return;
      const shownKey = `${replica}:${share.key}`;
      const fingerprint = (o.stale ? record.shown.get(shownKey) : undefined) ?? share.fingerprint;
      record.shown.set(shownKey, share.fingerprint);
      const before = net.pending.length;
      if (markShareHeard(doc, { shareKey: share.key, by: partnerId, fingerprint, at })) {
        // Marked only by the other partner, and only when these words were not heard yet.
        expect(partnerId).not.toBe(share.partnerId);
        expect(share.heard?.ofCurrentWords ?? false).toBe(false);
        record.marks.push({ key: share.key, by: partnerId, fingerprint });
      } else {
        // "Heard" once: a mark for words already heard writes nothing.
        expect(share.heard?.ofCurrentWords).toBe(true);
        expect(net.pending.length).toBe(before);
      }
      return;
    }
    case 'break': {
      const called = callBreak(
        doc,
        { by: partnerId, minutes: o.minutes as BreakLength, date: o.date, at },
        newId,
      );
      record.calls.set(called.id, partnerId);
      return;
    }
    case 'back': {
      const b = nth(listBreaks(doc), o.pick);
      if (!b) return;
      // A late return comes after the named time; an early one a moment after the call.
      const when = o.late ? b.returnAt + at - T0 : b.calledAt + 1;
      if (endBreak(doc, { breakId: b.id, by: partnerId, at: when })) {
        // One end: only a break still open on this replica takes one.
        expect(b.status).toBe(BreakStatus.open);
        record.ends.push({ breakId: b.id, by: partnerId, endedAt: Math.max(when, b.calledAt) });
      }
      return;
    }
    case 'more': {
      const b = nth(listBreaks(doc), o.pick);
      if (!b) return;
      // Late: at or after the named time, as the app offers it; early: refused.
      const when = o.late ? b.returnAt + at - T0 : b.calledAt + 1;
      const next = takeMoreTime(
        doc,
        {
          breakId: b.id,
          by: partnerId,
          minutes: o.minutes as BreakLength,
          date: DATES[0]!,
          at: when,
        },
        newId,
      );
      // One end: only the caller's break, still open on this replica, takes one.
      expect(b.status).toBe(BreakStatus.open);
      expect(b.by).toBe(partnerId);
      record.ends.push({ breakId: b.id, by: partnerId, endedAt: when });
      record.calls.set(next.id, partnerId);
      expect(next).toMatchObject({ by: partnerId, calledAt: when, status: BreakStatus.open });
      return;
    }
    default: {
      const unreachable: never = o;
      throw new Error(`unknown op ${JSON.stringify(unreachable)}`);
    }
  }
}

function contentOf(s: ShareContent): ShareContent {
  const { feelings, feelingWords, affirmation, needs, ownership, struggles } = s;
  return { feelings, feelingWords, affirmation, needs, ownership, struggles };
}

/** Invariants that hold on every replica at every moment, not only after convergence. */
function checkLocalInvariants(doc: Y.Doc, record: Record): void {
  const shares = listShares(doc);
  // One share per partner per day: the key is derived from (date, author).
  for (const s of shares) {
    expect(s.key).toBe(shareKey(s.date, s.partnerId));
    expect(PARTNERS).toContain(s.partnerId);
    expect(s.feelings).toEqual(FEELINGS.filter((f) => s.feelings.includes(f)));
    expect(s.feelings.length > 0 || s.feelingWords.trim() !== '').toBe(true);
    expect(s.fingerprint).toBe(shareFingerprint(contentOf(s)));
    // "Heard" only by the other partner, and, for the words shown, only for words they read.
    if (s.heard !== null) {
      expect(s.heard.by).not.toBe(s.partnerId);
      if (s.heard.ofCurrentWords) {
        expect(
          record.marks.some(
            (m) => m.key === s.key && m.by === s.heard!.by && m.fingerprint === s.fingerprint,
          ),
        ).toBe(true);
      }
    }
  }
  expect(new Set(shares.map((s) => s.key)).size).toBe(shares.length);
  // With nothing parked, every raw share is whole and the readers list every one.
  if (doc.store.pendingStructs === null && doc.store.pendingDs === null) {
    expect(shares).toHaveLength(roots(doc).shares.size);
    for (const raw of roots(doc).shares.values()) {
      const mark = raw.get('heard') as { by?: unknown } | undefined;
      if (mark !== undefined) expect(mark.by).not.toBe(raw.get('partnerId'));
    }
  }
  for (const partnerId of PARTNERS) {
    for (const s of sharesToHear(doc, partnerId)) expect(s.partnerId).not.toBe(partnerId);
  }

  const breaks = listBreaks(doc);
  for (const b of breaks) {
    // One caller: the partner who called it, never rewritten.
    expect(b.by).toBe(record.calls.get(b.id));
    expect(b.returnAt).toBe(b.calledAt + b.minutes * 60_000);
    // One end: set by the caller, never before the call, and it decides the status.
    if (b.endedAt === null) {
      expect([BreakStatus.open, BreakStatus.replaced]).toContain(b.status);
    } else {
      expect(b.endedAt).toBeGreaterThanOrEqual(b.calledAt);
      expect(b.status).toBe(b.endedAt < b.returnAt ? BreakStatus.endedEarly : BreakStatus.returned);
      expect(
        record.ends.some((e) => e.breakId === b.id && e.by === b.by && e.endedAt === b.endedAt),
      ).toBe(true);
    }
  }
  for (const e of record.ends) expect(e.by).toBe(record.calls.get(e.breakId));
  // At most one open break per partner, whatever arrived in whatever order.
  for (const partnerId of PARTNERS) {
    const open = breaks.filter((b) => b.by === partnerId && b.status === BreakStatus.open);
    expect(open.length).toBeLessThanOrEqual(1);
    expect(
      todayFor(doc, { partnerId, date: DATES[0]! }).openBreaks.filter((b) => b.by === partnerId),
    ).toEqual(open);
  }
}

/** Once every update has arrived everywhere. */
function checkFinalInvariants(doc: Y.Doc, record: Record): void {
  checkLocalInvariants(doc, record);
  // No break is lost, and every break its caller ended is ended everywhere.
  expect(
    listBreaks(doc)
      .map((b) => b.id)
      .sort(),
  ).toEqual([...record.calls.keys()].sort());
  for (const e of record.ends) {
    expect(listBreaks(doc).find((b) => b.id === e.breakId)!.endedAt).not.toBeNull();
  }
  expect(doc.store.pendingStructs).toBeNull();
  expect(doc.store.pendingDs).toBeNull();
}

function content(doc: Y.Doc) {
  const r = roots(doc);
  return {
    json: { shares: r.shares.toJSON(), breaks: r.breaks.toJSON() },
    shares: listShares(doc),
    breaks: listBreaks(doc),
    today: PARTNERS.map((partnerId) => todayFor(doc, { partnerId, date: DATES[0]! })),
  };
}

function property(replicas: number, ops: fc.Arbitrary<Op>) {
  return fc.property(
    fc.array(step(replicas, ops), { minLength: 5, maxLength: 45 }),
    fc.integer(),
    (steps, flushSeed) => {
      const net = new Network(twoPartnerSpace(), replicas);
      const ids = net.docs.map((_, i) => counterIds(`replica${i}x`));
      const record: Record = { marks: [], calls: new Map(), ends: [], shown: new Map() };
      steps.forEach((s, index) => {
        if (s.kind === 'deliver') {
          net.deliver(s.to, s.pick, s.duplicate);
          checkLocalInvariants(net.docs[s.to]!, record);
          return;
        }
        const before = net.pending.length;
        try {
          apply(
            net,
            s.replica,
            PARTNERS[s.partner]!,
            s.op,
            T0 + index * 1000,
            ids[s.replica]!,
            record,
          );
        } catch (error) {
          // A refusal (a day that is over, a heard share, a second open break, someone else's
          // break, more time before the named time) is a ModelError and writes nothing.
          expect(error).toBeInstanceOf(ModelError);
          expect(net.pending.length).toBe(before);
        }
        checkLocalInvariants(net.docs[s.replica]!, record);
      });
      net.flush(flushSeed);

      const [first, ...rest] = net.docs;
      const expected = content(first!);
      for (const doc of rest) {
        expect(content(doc)).toEqual(expected);
        expect(Y.encodeStateVector(doc)).toEqual(Y.encodeStateVector(first!));
      }
      for (const doc of net.docs) checkFinalInvariants(doc, record);
    },
  );
}

const PROPERTY_TIMEOUT_MS = 60_000;

describe('shares and breaks converge with every invariant holding', () => {
  it(
    'two replicas, random shares, marks, breaks and returns, delivered out of order with duplicates',
    () => {
      fc.assert(property(2, op), { numRuns: 200 });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'three replicas, random shares, marks, breaks and returns, delivered out of order with duplicates',
    () => {
      fc.assert(property(3, op), { numRuns: 200 });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'four replicas (two devices each) racing on one day’s shares and breaks',
    () => {
      fc.assert(property(4, contendedOp), { numRuns: 200 });
    },
    PROPERTY_TIMEOUT_MS,
  );
});
