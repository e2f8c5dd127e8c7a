/**
 * Property tests for SPEC.md: replicas apply random operations, exchange updates in random order
 * with duplicates and delays, and must end identical with every invariant holding.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  acceptAgreement,
  agreementTexts,
  editAgreement,
  keepLog,
  listAgreements,
  logKeep,
  proposeAgreement,
  setAgreementLifecycle,
} from './agreements.js';
import {
  acknowledgeBoundary,
  addBoundary,
  editBoundary,
  getBoundary,
  listBoundaries,
} from './boundaries.js';
import { checkIn, checkinKey, getCheckin, listCheckins } from './checkins.js';
import { checkInPrivately } from './privateCheckins.js';
import { ModelError } from './errors.js';
import type { AgreementId, IdGenerator, PartnerId } from './ids.js';
import { Origin } from './origin.js';
import {
  addFollowUp,
  answerQuestion,
  askQuestion,
  closeQuestion,
  listQuestions,
  markQuestionRead,
  reopenQuestion,
} from './questions.js';
import {
  AgreementLifecycle,
  AgreementStatus,
  CheckinState,
  KeepValue,
  Limits,
  PrivateScope,
  Role,
} from './schema.js';
import { listPartners, markPartnerSeen, setPartnerRole } from './space.js';
import { changesToSee, markChangeSeen } from './notices.js';
import { roots } from './store.js';
import { A, B, T0, counterIds, twoPartnerSpace } from './testing/fixtures.js';
import { Network } from './testing/network.js';
import { checkinSeries, todayFor } from './views.js';

const PARTNERS = [A, B] as const;
const WORDS = ['we', 'will', 'talk', 'daily', 'no', 'contact', 'é', '🌱', 'call', 'first'];
const DATES = ['2026-11-01', '2026-11-02', '2026-11-03'];
/** Sealed parts as the model sees them: opaque base64url (and one that is not, refused). */
const SEALED = ['c2VhbGVkIG9uZQ', 'c2VhbGVkIHR3bw', 'c2VhbGVkIHRocmVl', 'not base64url!'];

const word = fc.constantFrom(...WORDS);
const words = (min: number) =>
  fc.array(word, { minLength: min, maxLength: 6 }).map((w) => w.join(' '));
const pick = fc.nat({ max: 1000 });

const op = fc.oneof(
  fc.record({ t: fc.constant('propose' as const), title: words(1), body: words(0) }),
  fc.record({
    t: fc.constant('edit' as const),
    pick,
    title: fc.option(words(1), { nil: undefined }),
    body: words(0),
  }),
  fc.record({ t: fc.constant('type' as const), pick, pos: fc.nat({ max: 60 }), text: word }),
  fc.record({ t: fc.constant('accept' as const), pick, stale: fc.boolean() }),
  fc.record({
    t: fc.constant('lifecycle' as const),
    pick,
    lifecycle: fc.constantFrom(...Object.values(AgreementLifecycle)),
    reason: fc.option(words(0), { nil: undefined }),
  }),
  fc.record({
    t: fc.constant('keep' as const),
    pick,
    date: fc.constantFrom(...DATES),
    value: fc.constantFrom(...Object.values(KeepValue)),
    note: words(0),
  }),
  fc.record({
    t: fc.constant('ask' as const),
    text: words(1),
    again: fc.option(pick, { nil: undefined }),
  }),
  fc.record({ t: fc.constant('answer' as const), pick, followUp: fc.boolean(), text: words(1) }),
  fc.record({
    t: fc.constant('close' as const),
    pick,
    reopen: fc.boolean(),
    reason: fc.option(words(0), { nil: undefined }),
  }),
  fc.record({ t: fc.constant('seeChange' as const), pick }),
  fc.record({ t: fc.constant('read' as const), pick }),
  fc.record({
    t: fc.constant('checkin' as const),
    date: fc.constantFrom(...DATES),
    safety: fc.integer({ min: -1, max: 11 }),
    state: fc.constantFrom(...Object.values(CheckinState)),
    note: fc.option(words(0), { nil: undefined }),
  }),
  fc.record({
    t: fc.constant('private' as const),
    date: fc.constantFrom(...DATES),
    scope: fc.constantFrom(...Object.values(PrivateScope)),
    safety: fc.integer({ min: -1, max: 11 }),
    state: fc.constantFrom(...Object.values(CheckinState)),
    sealed: fc.constantFrom(...SEALED),
  }),
  fc.record({ t: fc.constant('boundary' as const), text: words(1) }),
  fc.record({ t: fc.constant('editBoundary' as const), pick, text: words(1) }),
  fc.record({ t: fc.constant('ack' as const), pick, stale: fc.boolean() }),
  fc.record({
    t: fc.constant('role' as const),
    role: fc.constantFrom(Role.hurt, Role.repairing, null),
  }),
  fc.record({ t: fc.constant('seen' as const) }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

const step = (replicas: number, ops: fc.Arbitrary<Op> = op) =>
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
        // Deliver but keep the message queued, so it arrives again later (a duplicate).
        duplicate: fc.boolean(),
      }),
    },
  );

interface Shown {
  readonly title: string;
  readonly body: string;
  readonly fingerprint: string;
}

/** What the harness knows happened, to check the invariants against. */
interface Record {
  /** Every wording a partner accepted successfully, as the partner was shown it. */
  readonly accepts: { agreementId: string; partnerId: string; title: string; body: string }[];
  readonly acks: { boundaryId: string; by: string; text: string }[];
  readonly answerIds: Map<string, string[]>;
  readonly keepIds: Map<string, string[]>;
  /** Orders seen on some replica at some time: each must stay a subsequence of the final one. */
  readonly threadOrders: Map<string, string[][]>;
  readonly keepOrders: Map<string, string[][]>;
  /** Per check-in key, every private part its author wrote (`scope:sealed`). */
  readonly privateParts: Map<string, Set<string>>;
}

function nth<T>(items: readonly T[], n: number): T | undefined {
  return items.length === 0 ? undefined : items[n % items.length];
}

function rawKeepIds(doc: Y.Doc, agreementId: string): string[] {
  const log = roots(doc).agreements.get(agreementId)?.get('keepLog');
  return log instanceof Y.Array ? log.toArray().map((e) => (e as { id: string }).id) : [];
}

function apply(
  doc: Y.Doc,
  replica: number,
  partnerId: PartnerId,
  o: Op,
  at: number,
  newId: IdGenerator,
  record: Record,
  shown: Map<string, Shown>,
): void {
  const other = PARTNERS.find((p) => p !== partnerId)!;
  const agreement = () => nth(listAgreements(doc), 'pick' in o ? o.pick : 0);
  const question = () => nth(listQuestions(doc), 'pick' in o ? o.pick : 0);
  const boundary = () => nth(listBoundaries(doc), 'pick' in o ? o.pick : 0);
  switch (o.t) {
    case 'propose':
      proposeAgreement(doc, { title: o.title, body: o.body, by: partnerId, at }, newId);
      return;
    case 'edit': {
      const a = agreement();
      if (!a) return;
      editAgreement(doc, {
        agreementId: a.id,
        ...(o.title === undefined ? {} : { title: o.title }),
        body: o.body,
        by: partnerId,
        at,
      });
      return;
    }
    case 'type': {
      const a = agreement();
      if (!a) return;
      const body = agreementTexts(doc, a.id).body;
      if (body.length + o.text.length > Limits.agreementBody) return;
      doc.transact(() => body.insert(Math.min(o.pos, body.length), o.text), Origin.liveEdit);
      return;
    }
    case 'accept': {
      const a = agreement();
      if (!a) return;
      const key = `${replica}:${a.id}`;
      const seen = (o.stale ? shown.get(key) : undefined) ?? a;
      shown.set(key, { title: a.title, body: a.body, fingerprint: a.fingerprint });
      acceptAgreement(doc, { agreementId: a.id, partnerId, fingerprint: seen.fingerprint, at });
      record.accepts.push({ agreementId: a.id, partnerId, title: seen.title, body: seen.body });
      return;
    }
    case 'lifecycle': {
      const a = agreement();
      if (!a) return;
      setAgreementLifecycle(doc, {
        agreementId: a.id,
        lifecycle: o.lifecycle,
        by: partnerId,
        at,
        ...(o.reason === undefined ? {} : { reason: o.reason }),
      });
      return;
    }
    case 'keep': {
      const a = agreement();
      if (!a) return;
      const id = logKeep(
        doc,
        { agreementId: a.id, partnerId, date: o.date, value: o.value, note: o.note, at },
        newId,
      );
      record.keepIds.set(a.id, [...(record.keepIds.get(a.id) ?? []), id]);
      return;
    }
    case 'ask': {
      const earlier = o.again === undefined ? undefined : nth(listQuestions(doc), o.again);
      askQuestion(
        doc,
        { text: o.text, by: partnerId, at, ...(earlier ? { askAgainOf: earlier.id } : {}) },
        newId,
      );
      return;
    }
    case 'answer': {
      const q = question();
      if (!q) return;
      const input = { questionId: q.id, text: o.text, by: partnerId, at };
      const id = o.followUp ? addFollowUp(doc, input, newId) : answerQuestion(doc, input, newId);
      record.answerIds.set(q.id, [...(record.answerIds.get(q.id) ?? []), id]);
      return;
    }
    case 'close': {
      const q = question();
      if (!q) return;
      const input = { questionId: q.id, by: partnerId, at };
      if (o.reopen) reopenQuestion(doc, input);
      else
        closeQuestion(doc, { ...input, ...(o.reason === undefined ? {} : { reason: o.reason }) });
      return;
    }
    case 'seeChange': {
      const change = nth(changesToSee(doc, partnerId), o.pick);
      if (change) markChangeSeen(doc, { change, partnerId });
      return;
    }
    case 'read': {
      const q = question();
      if (q) markQuestionRead(doc, { questionId: q.id, partnerId, at });
      return;
    }
    case 'checkin':
      checkIn(doc, {
        partnerId,
        date: o.date,
        safety: o.safety,
        state: o.state,
        ...(o.note === undefined ? {} : { note: o.note }),
        at,
      });
      return;
    case 'private': {
      const common = { partnerId, date: o.date, sealed: o.sealed, at };
      checkInPrivately(
        doc,
        o.scope === PrivateScope.note
          ? { ...common, scope: o.scope, safety: o.safety, state: o.state }
          : { ...common, scope: o.scope },
      );
      const key = checkinKey(o.date, partnerId);
      const parts = record.privateParts.get(key) ?? new Set();
      record.privateParts.set(key, parts.add(`${o.scope}:${o.sealed}`));
      return;
    }
    case 'boundary':
      addBoundary(doc, { text: o.text, owner: partnerId, at }, newId);
      return;
    case 'editBoundary': {
      const b = boundary();
      if (b) editBoundary(doc, { boundaryId: b.id, text: o.text, by: b.owner, at });
      return;
    }
    case 'ack': {
      const b = boundary();
      if (!b) return;
      const key = `${replica}:${b.id}`;
      const seen = (o.stale ? shown.get(key) : undefined) ?? { ...b, title: '', body: b.text };
      shown.set(key, { title: '', body: b.text, fingerprint: b.fingerprint });
      const by = b.owner === partnerId ? other : partnerId;
      acknowledgeBoundary(doc, { boundaryId: b.id, by, fingerprint: seen.fingerprint, at });
      record.acks.push({ boundaryId: b.id, by, text: seen.body });
      return;
    }
    case 'role':
      setPartnerRole(doc, { partnerId, role: o.role });
      return;
    case 'seen':
      markPartnerSeen(doc, { partnerId, at, minIntervalMs: 0 });
      return;
    default: {
      const unreachable: never = o;
      throw new Error(`unknown op ${JSON.stringify(unreachable)}`);
    }
  }
}

const STATES: readonly unknown[] = Object.values(CheckinState);

/**
 * Every field of a check-in present and valid, and the key derived from its content. A check-in
 * kept private whole has no safety or state to check (a reader shows none); the raw map names
 * what is private in `private: { scope, sealed }`, a snapshot in `private` and `sealed`.
 */
function isValidCheckin(key: string, c: { readonly [field: string]: unknown }): boolean {
  const { date, partnerId, safety, state, note, createdAt, updatedAt } = c;
  const raw = c.private as { scope?: unknown } | null | undefined;
  const scope = typeof raw === 'object' && raw !== null ? raw.scope : raw;
  return (
    typeof date === 'string' &&
    typeof partnerId === 'string' &&
    key === checkinKey(date, partnerId as PartnerId) &&
    (scope === PrivateScope.checkin ||
      (Number.isInteger(safety) &&
        (safety as number) >= Limits.safetyMin &&
        (safety as number) <= Limits.safetyMax &&
        STATES.includes(state) &&
        typeof note === 'string')) &&
    Number.isInteger(createdAt) &&
    Number.isInteger(updatedAt)
  );
}

/** Invariants that hold on every replica at every moment, not only after convergence. */
function checkLocalInvariants(doc: Y.Doc, record: Record): void {
  expect(listPartners(doc).length).toBeLessThanOrEqual(2);

  // Through the public readers, every check-in is whole and valid at every moment.
  const checkins = listCheckins(doc);
  for (const c of checkins) expect(isValidCheckin(c.key, { ...c })).toBe(true);
  for (const partnerId of PARTNERS) {
    for (const date of DATES) {
      const listed = checkins.find((c) => c.key === checkinKey(date, partnerId)) ?? null;
      expect(getCheckin(doc, date, partnerId)).toEqual(listed);
      expect(todayFor(doc, { partnerId, date }).checkin).toEqual(listed);
    }
    // A check-in kept private whole is never in the shared series; its note never read.
    expect(checkinSeries(doc, { partnerId })).toEqual(
      checkins.flatMap((c) =>
        c.partnerId === partnerId && c.private !== PrivateScope.checkin
          ? [{ date: c.date, safety: c.safety, state: c.state }]
          : [],
      ),
    );
  }
  // What is private reads as private, as its author wrote it: one write's scope with its own
  // sealed text, never another day's or partner's, and no note beside it.
  for (const c of checkins) {
    if (c.private === null) continue;
    expect(record.privateParts.get(c.key)?.has(`${c.private}:${c.sealed}`)).toBe(true);
    if (c.private === PrivateScope.note) expect(c.note).toBe('');
    else for (const field of ['safety', 'state', 'note']) expect(c).not.toHaveProperty(field);
  }
  // In the raw map an entry may lack a field only while an update is parked: Yjs applies an
  // update's deletions (an overwritten field's old value) at once, but holds its new values back
  // until the updates they depend on arrive. With nothing parked, every raw entry is valid too,
  // and one check-in per (date, partner): the key is derived from the content it holds.
  // One exception (SPEC.md 47, known limits): a day one device kept private whole (removing
  // safety and state) while another device of the author wrote it unaware, leaving safety as it
  // was, may end without them; it then reads as no check-in, on every replica alike.
  if (doc.store.pendingStructs === null && doc.store.pendingDs === null) {
    let lacking = 0;
    for (const [key, checkin] of roots(doc).checkins.entries()) {
      const raw = checkin.toJSON() as { [field: string]: unknown };
      if (isValidCheckin(key, raw)) continue;
      const keptWhole = [...(record.privateParts.get(key) ?? [])].some((p) =>
        p.startsWith(`${PrivateScope.checkin}:`),
      );
      expect(keptWhole && !('safety' in raw && 'state' in raw)).toBe(true);
      expect(checkins.some((c) => c.key === key)).toBe(false);
      lacking++;
    }
    expect(checkins).toHaveLength(roots(doc).checkins.size - lacking);
  }

  for (const p of listPartners(doc)) expect(p.displayName).not.toBe('');
  for (const b of listBoundaries(doc)) expect(b.text.trim()).not.toBe('');
  for (const a of listAgreements(doc)) {
    expect(Object.values(AgreementLifecycle)).toContain(a.lifecycle);
  }

  for (const a of listAgreements(doc)) {
    // An acceptance never counts for a wording the partner did not see.
    for (const p of a.acceptedCurrentBy) {
      expect(
        record.accepts.some(
          (r) =>
            r.agreementId === a.id && r.partnerId === p && r.title === a.title && r.body === a.body,
        ),
      ).toBe(true);
    }
    for (const h of a.history) {
      expect(
        record.accepts.some(
          (r) =>
            r.agreementId === a.id &&
            r.partnerId === h.acceptedBy &&
            r.title === h.title &&
            r.body === h.body,
        ),
      ).toBe(true);
    }
    // The wording in force is one both partners accepted, exactly as written.
    if (a.inForce !== null) {
      for (const p of PARTNERS) {
        expect(
          record.accepts.some(
            (r) =>
              r.agreementId === a.id &&
              r.partnerId === p &&
              r.title === a.inForce!.title &&
              r.body === a.inForce!.body,
          ),
        ).toBe(true);
      }
    }
    // Status is derived from acceptances: active exactly when both accepted this wording.
    const bothAccepted = a.acceptedCurrentBy.length === 2;
    expect(a.status === AgreementStatus.active).toBe(a.lifecycle === 'open' && bothAccepted);
  }

  // An acknowledgement counts only for the text the other partner was shown.
  for (const b of listBoundaries(doc)) {
    if (b.acknowledgement === null) continue;
    expect(b.acknowledgement.by).not.toBe(b.owner);
    expect(
      record.acks.some(
        (r) => r.boundaryId === b.id && r.by === b.acknowledgement!.by && r.text === b.text,
      ),
    ).toBe(true);
  }
}

function observeOrders(doc: Y.Doc, record: Record): void {
  for (const q of listQuestions(doc)) {
    const orders = record.threadOrders.get(q.id) ?? [];
    orders.push(q.thread.map((i) => i.id));
    record.threadOrders.set(q.id, orders);
  }
  for (const a of listAgreements(doc)) {
    const orders = record.keepOrders.get(a.id) ?? [];
    orders.push(rawKeepIds(doc, a.id));
    record.keepOrders.set(a.id, orders);
  }
}

function isSubsequence(small: readonly string[], big: readonly string[]): boolean {
  let i = 0;
  for (const x of big) if (x === small[i]) i++;
  return i === small.length;
}

/** Invariants over the whole history, once every update has arrived everywhere. */
function checkFinalInvariants(doc: Y.Doc, record: Record): void {
  checkLocalInvariants(doc, record);
  // Answers are never lost, duplicated or reordered.
  for (const [questionId, ids] of record.answerIds) {
    const thread = listQuestions(doc)
      .find((q) => q.id === questionId)!
      .thread.map((i) => i.id);
    expect([...thread].sort()).toEqual([...ids].sort());
  }
  for (const [questionId, orders] of record.threadOrders) {
    const thread = listQuestions(doc)
      .find((q) => q.id === questionId)!
      .thread.map((i) => i.id);
    for (const order of orders) expect(isSubsequence(order, thread)).toBe(true);
  }
  // A keep-log correction never erases the earlier value.
  for (const [agreementId, ids] of record.keepIds) {
    const all = keepLog(doc, { agreementId: agreementId as AgreementId }).flatMap((row) => [
      ...row.earlier.map((e) => e.id),
      row.current.id,
    ]);
    expect([...all].sort()).toEqual([...ids].sort());
  }
  for (const [agreementId, orders] of record.keepOrders) {
    const final = rawKeepIds(doc, agreementId);
    for (const order of orders) expect(isSubsequence(order, final)).toBe(true);
  }
  // One check-in per (date, partner), seen through the public reader too.
  const cells = listCheckins(doc).map((c) => `${c.date}:${c.partnerId}`);
  expect(new Set(cells).size).toBe(cells.length);
  // Derived views work on the merged document.
  for (const partnerId of PARTNERS)
    expect(todayFor(doc, { partnerId, date: DATES[1]! }).date).toBe(DATES[1]);
  // Everything was delivered: nothing is waiting for a missing update.
  expect(doc.store.pendingStructs).toBeNull();
  expect(doc.store.pendingDs).toBeNull();
}

function content(doc: Y.Doc) {
  return {
    // Doc.toJSON lists only the root types this replica has touched; name them all instead.
    json: Object.fromEntries(
      Object.entries(roots(doc)).map(([name, type]) => [name, type.toJSON()]),
    ),
    partners: listPartners(doc),
    agreements: listAgreements(doc).map((a) => ({
      ...a,
      keepLog: keepLog(doc, { agreementId: a.id }),
    })),
    questions: listQuestions(doc),
    checkins: listCheckins(doc),
    boundaries: listBoundaries(doc).map((b) => ({ ...b, current: getBoundary(doc, b.id) })),
    changesToSee: PARTNERS.map((p) => changesToSee(doc, p)),
  };
}

/**
 * Operations that race on one agreement, one question, one boundary and one day: the
 * concurrency the invariants are about, hit far more often than in the full mix.
 */
const contendedOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant('edit' as const),
    pick: fc.constant(0),
    title: fc.constant(undefined),
    body: words(0),
  }),
  fc.record({
    t: fc.constant('type' as const),
    pick: fc.constant(0),
    pos: fc.nat({ max: 20 }),
    text: word,
  }),
  fc.record({ t: fc.constant('accept' as const), pick: fc.constant(0), stale: fc.boolean() }),
  fc.record({
    t: fc.constant('keep' as const),
    pick: fc.constant(0),
    date: fc.constant(DATES[0]!),
    value: fc.constantFrom(...Object.values(KeepValue)),
    note: fc.constant(''),
  }),
  fc.record({
    t: fc.constant('answer' as const),
    pick: fc.constant(0),
    followUp: fc.boolean(),
    text: words(1),
  }),
  fc.record({ t: fc.constant('read' as const), pick: fc.constant(0) }),
  fc.record({
    t: fc.constant('checkin' as const),
    date: fc.constant(DATES[0]!),
    safety: fc.integer({ min: 0, max: 10 }),
    state: fc.constantFrom(...Object.values(CheckinState)),
    note: fc.option(words(0), { nil: undefined }),
  }),
  fc.record({
    t: fc.constant('private' as const),
    date: fc.constant(DATES[0]!),
    scope: fc.constantFrom(...Object.values(PrivateScope)),
    safety: fc.integer({ min: 0, max: 10 }),
    state: fc.constantFrom(...Object.values(CheckinState)),
    sealed: fc.constantFrom(...SEALED.slice(0, 3)),
  }),
  fc.record({ t: fc.constant('editBoundary' as const), pick: fc.constant(0), text: words(1) }),
  fc.record({ t: fc.constant('ack' as const), pick: fc.constant(0), stale: fc.boolean() }),
);

/** A space that already holds one agreement, one question and one boundary to race on. */
function contendedSpace(): Y.Doc {
  const doc = twoPartnerSpace();
  proposeAgreement(
    doc,
    { title: 'Walk', body: 'we walk daily', by: A, at: T0 },
    counterIds('seedagrmt'),
  );
  askQuestion(doc, { text: 'Why?', by: A, at: T0 }, counterIds('seedqstn'));
  addBoundary(doc, { text: 'Knock first', owner: B, at: T0 }, counterIds('seedbndry'));
  return doc;
}

function property(
  replicas: number,
  ops: fc.Arbitrary<Op> = op,
  base: () => Y.Doc = twoPartnerSpace,
) {
  return fc.property(
    fc.array(step(replicas, ops), { minLength: 5, maxLength: 45 }),
    fc.integer(),
    (steps, flushSeed) => {
      const net = new Network(base(), replicas);
      const ids = net.docs.map((_, i) => counterIds(`replica${i}x`));
      const record: Record = {
        accepts: [],
        acks: [],
        answerIds: new Map(),
        keepIds: new Map(),
        threadOrders: new Map(),
        keepOrders: new Map(),
        privateParts: new Map(),
      };
      const shown = new Map<string, Shown>();
      steps.forEach((s, index) => {
        if (s.kind === 'deliver') {
          net.deliver(s.to, s.pick, s.duplicate);
          checkLocalInvariants(net.docs[s.to]!, record);
          observeOrders(net.docs[s.to]!, record);
          return;
        }
        const doc = net.docs[s.replica]!;
        const before = net.pending.length;
        try {
          apply(
            doc,
            s.replica,
            PARTNERS[s.partner]!,
            s.op,
            T0 + index * 1000,
            ids[s.replica]!,
            record,
            shown,
          );
        } catch (error) {
          // A refusal is fine (a closed question, a stale wording, safety 11…) but it is a
          // ModelError and it wrote nothing.
          expect(error).toBeInstanceOf(ModelError);
          expect(net.pending.length).toBe(before);
        }
        checkLocalInvariants(doc, record);
        observeOrders(doc, record);
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

// Each property is 200 full runs; on a shared 2-core machine that can exceed Vitest's 5 s default.
const PROPERTY_TIMEOUT_MS = 60_000;

describe('replicas converge with every invariant holding', () => {
  it(
    'two replicas, random operations, updates delivered out of order with duplicates',
    () => {
      fc.assert(property(2), { numRuns: 200 });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'three replicas, random operations, updates delivered out of order with duplicates',
    () => {
      fc.assert(property(3), { numRuns: 200 });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'three replicas racing on one agreement, question, boundary and day',
    () => {
      fc.assert(property(3, contendedOp, contendedSpace), { numRuns: 200 });
    },
    PROPERTY_TIMEOUT_MS,
  );
});

describe('the harness', () => {
  it('out-of-order delivery alone does not integrate an update that depends on a missing one', () => {
    const net = new Network(twoPartnerSpace(), 2);
    proposeAgreement(net.docs[0]!, { title: 'one', body: '', by: A, at: T0 });
    proposeAgreement(net.docs[0]!, { title: 'two', body: '', by: A, at: T0 });
    net.deliver(1, 1, false);
    expect(listAgreements(net.docs[1]!)).toHaveLength(0);
    net.flush(1);
    expect(listAgreements(net.docs[1]!)).toHaveLength(2);
  });
});
