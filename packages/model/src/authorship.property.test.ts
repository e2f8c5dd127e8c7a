/**
 * Property tests of SPEC.md "Authorship": devices of two partners write through the model, a
 * sequencer orders what they send, and every replica checks every remote update before it
 * applies it; forgers write whatever they like.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { checkRemoteUpdate, type UpdateAuthor, type UpdateVerdict } from './authorship.js';
import { checkRemoteUpdateByReplica } from './authorshipOracle.js';
import { callBreak } from './breaks.js';
import { readDeviceNames } from './devices.js';
import type { PartnerId } from './ids.js';
import { ownedByOthers } from './ownership.js';
import { canonical, snapshotOf } from './plainSnapshot.js';
import { saveShare } from './shares.js';
import { roots } from './store.js';
import { A, B, T0, deviceKeyOf } from './testing/fixtures.js';
import { honestOp, practiceOp, type HonestOp } from './testing/honestOps.js';
import { forgery } from './testing/forgeries.js';
import { SealedRun, type Device, type SendMode } from './testing/sealedRun.js';

const send = fc.constantFrom<SendMode | null>(null, null, 'each', 'merged', 'diff');
const stepOf = (op: fc.Arbitrary<HonestOp>) =>
  fc.record({
    device: fc.nat({ max: 3 }),
    op,
    send,
    deliverTo: fc.nat({ max: 3 }),
    deliver: fc.nat({ max: 4 }),
    // Now and then a device restarts and loads its replica of the log from a snapshot.
    reload: fc.nat({ max: 4 }).map((n) => n === 0),
  });
const step = stepOf(honestOp);
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;
/** The practices only, sent and delivered more eagerly, so that devices race on one day. */
const race: fc.Arbitrary<Step> = fc.record({
  device: fc.nat({ max: 3 }),
  op: practiceOp,
  send: fc.constantFrom<SendMode | null>(null, 'each', 'merged', 'diff'),
  deliverTo: fc.nat({ max: 3 }),
  deliver: fc.nat({ max: 8 }),
  reload: fc.nat({ max: 4 }).map((n) => n === 0),
});
const TODAY = '2026-11-01';
/** Device names only: each device names itself, and renames its partner's devices, racing. */
const naming: fc.Arbitrary<Step> = fc.record({
  device: fc.nat({ max: 3 }),
  op: honestOp.filter((op) => op.t === 'nameDevice'),
  send: fc.constantFrom<SendMode | null>(null, 'each', 'merged', 'diff'),
  deliverTo: fc.nat({ max: 3 }),
  deliver: fc.nat({ max: 8 }),
  reload: fc.nat({ max: 4 }).map((n) => n === 0),
});

/** How many values were ever written at a map's key, the overwritten ones included. */
function writesAt(map: Y.Map<unknown>, key: string): number {
  let count = 0;
  for (let item = map._map.get(key) ?? null; item; item = item.left) count++;
  return count;
}
const other = (partner: PartnerId): PartnerId => (partner === A ? B : A);

/** Every device checks every update, and the oracle copies the space for each: a few seconds. */
const PROPERTY_TIMEOUT = 120_000;

/** The same content in every replica, and the same state vector. */
function expectConverged(run: SealedRun): void {
  for (const device of run.devices) run.send(device, 'merged');
  for (const device of run.devices) run.deliver(device);
  const content = (doc: Y.Doc) =>
    [...snapshotOf(doc).entries()].map(([name, value]) => `${name} ${canonical(value)}`).sort();
  for (const doc of run.devices.flatMap((device) => [device.doc, device.replica])) {
    expect(Y.encodeStateVector(doc)).toEqual(Y.encodeStateVector(run.sequenced));
    expect(content(doc)).toEqual(content(run.sequenced));
  }
}

function stepHonestly(
  run: SealedRun,
  s: Step,
  onBatch?: (device: Device, update: Uint8Array) => void,
) {
  const device = run.devices[s.device]!;
  run.perform(device, s.op);
  if (s.send) {
    for (const batch of run.take(device, s.send)) {
      onBatch?.(device, batch.update);
      run.post(batch.update, device.author, batch);
    }
  }
  const receiver = run.devices[s.deliverTo]!;
  if (s.reload) run.reload(receiver);
  run.deliver(receiver, s.deliver);
}

const ok = (verdict: UpdateVerdict) => verdict.ok;

describe('honest partners', () => {
  it(
    'every update an honest device sends is accepted, by the fast checker and the oracle, on every device',
    () => {
      fc.assert(
        fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
          const run = new SealedRun();
          for (const s of steps) stepHonestly(run, s);
          expectConverged(run);
          const refused = run.log.filter((e) => !e.verdict.ok || !e.oracle.ok);
          expect(refused.map((e) => [e.verdict, e.oracle])).toEqual([]);
          expect(run.disagreements).toEqual([]);
        }),
        { numRuns: 100 },
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "devices of both partners racing to hear today's shares, change them, and call and end breaks are never refused, by either checker, on any device",
    () => {
      let rewritten = 0;
      fc.assert(
        fc.property(fc.array(race, { minLength: 5, maxLength: 30 }), (steps) => {
          const run = new SealedRun();
          // Both have shared today and are on a break, on every device: what the steps race on.
          for (const device of [run.device('a1'), run.device('b1')]) {
            run.write(device, (doc) => {
              const by = device.partnerId;
              saveShare(doc, { partnerId: by, date: TODAY, feelings: ['tired'], at: T0 });
              callBreak(doc, { by, minutes: 20, date: TODAY, at: T0 }, device.newId);
            });
          }
          for (const s of steps) stepHonestly(run, s);
          for (const device of run.devices) run.send(device, 'merged');
          const refused = run.log.filter((e) => !e.verdict.ok || !e.oracle.ok);
          expect(refused.map((e) => [e.verdict, e.oracle])).toEqual([]);
          expectConverged(run);
          expect(run.disagreements).toEqual([]);
          const { shares, breaks } = roots(run.sequenced);
          for (const share of shares.values()) {
            if (share instanceof Y.Map && writesAt(share, 'heard') > 1) rewritten++;
          }
          for (const b of breaks.values()) {
            if (b instanceof Y.Map && writesAt(b, 'endedAt') > 1) rewritten++;
          }
        }),
        { numRuns: 100 },
      );
      // Two devices marking or ending at once, or a mark made again for changed words.
      expect(rewritten).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'devices of both partners naming themselves and renaming their own partner’s devices, racing, are never refused; every name is its partner’s and its first time stays',
    () => {
      let renamed = 0;
      fc.assert(
        fc.property(fc.array(naming, { minLength: 5, maxLength: 30 }), (steps) => {
          const run = new SealedRun();
          const firstSeen = new Map<string, string>();
          for (const s of steps) {
            stepHonestly(run, s);
            for (const [key, d] of readDeviceNames(run.sequenced)) {
              expect(firstSeen.get(key) ?? d.addedAt).toBe(d.addedAt);
              firstSeen.set(key, d.addedAt);
            }
          }
          const refused = run.log.filter((e) => !e.verdict.ok || !e.oracle.ok);
          expect(refused.map((e) => [e.verdict, e.oracle])).toEqual([]);
          expectConverged(run);
          expect(run.disagreements).toEqual([]);
          for (const [key, d] of readDeviceNames(run.sequenced)) {
            const device = run.devices.find((x) => deviceKeyOf(x.name) === key);
            expect(d.partnerId).toBe(device?.partnerId);
          }
          for (const entry of roots(run.sequenced).devices.values()) {
            if (entry instanceof Y.Map && writesAt(entry, 'name') > 1) renamed++;
          }
        }),
        { numRuns: 100 },
      );
      expect(renamed).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "an honest update presented as the other partner's is refused whenever the oracle refuses it, and whenever it touches what its author owns",
    () => {
      let refusedByBoth = 0;
      fc.assert(
        fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
          const run = new SealedRun();
          for (const s of steps) {
            stepHonestly(run, s, (device, update) => {
              const impostor: UpdateAuthor = {
                ...device.author,
                partnerId: other(device.partnerId),
              };
              const fast = checkRemoteUpdate(run.sequenced, update, impostor);
              const slow = checkRemoteUpdateByReplica(run.sequenced, update, impostor);
              if (!slow.ok) expect(fast.ok).toBe(false);
              if (touchesOwned(run.sequenced, update, device.partnerId))
                expect(fast.ok).toBe(false);
              if (!slow.ok && !fast.ok) refusedByBoth++;
            });
          }
        }),
        { numRuns: 100 },
      );
      expect(refusedByBoth).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT,
  );
});

/** Whether applying `update` changes anything `owner` owns. */
function touchesOwned(doc: Y.Doc, update: Uint8Array, owner: PartnerId): boolean {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  const before = ownedByOthers(snapshotOf(copy), other(owner));
  Y.applyUpdate(copy, update);
  const after = ownedByOthers(snapshotOf(copy), other(owner));
  copy.destroy();
  return JSON.stringify([...before.fixed]) !== JSON.stringify([...after.fixed]);
}

const attack = fc.oneof(
  { weight: 3, arbitrary: step.map((s) => ({ kind: 'honest' as const, step: s })) },
  { weight: 2, arbitrary: forgery.map((f) => ({ kind: 'forged' as const, forgery: f })) },
);

describe('a forging partner', () => {
  it(
    'no sequence of forged or malformed updates changes what the honest partner owns; the checks never throw, agree on every device, and the fast one is never laxer than the oracle',
    () => {
      let accepted = 0;
      let refused = 0;
      fc.assert(
        fc.property(fc.constantFrom(A, B), fc.array(attack, { maxLength: 40 }), (forger, moves) => {
          const run = new SealedRun();
          let client = 100;
          for (const move of moves) {
            if (move.kind === 'honest') {
              stepHonestly(run, move.step);
              continue;
            }
            const author: UpdateAuthor = { partnerId: forger, clientIds: new Set([++client]) };
            const update = move.forgery.write(run, forger, client);
            const victim = () => ownedByOthers(snapshotOf(run.sequenced), forger);
            const before = victim();
            const entry = run.post(update, author);
            if (entry.verdict.ok) expect(entry.oracle).toEqual({ ok: true });
            expect(JSON.stringify([...victim().fixed])).toBe(JSON.stringify([...before.fixed]));
            if (entry.verdict.ok) accepted++;
            else refused++;
          }
          expect(run.disagreements).toEqual([]);
          expectConverged(run);
        }),
        { numRuns: 100 },
      );
      expect(accepted).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT,
  );
});

describe('replicas', () => {
  it(
    'two replicas applying the same accepted updates in any order converge',
    () => {
      fc.assert(
        fc.property(fc.array(attack, { maxLength: 30 }), fc.nat(), (moves, seed) => {
          const run = new SealedRun();
          let client = 100;
          for (const move of moves) {
            if (move.kind === 'honest') stepHonestly(run, move.step);
            else {
              const author: UpdateAuthor = { partnerId: A, clientIds: new Set([++client]) };
              run.post(move.forgery.write(run, A, client), author);
            }
          }
          const accepted = run.log.filter((e) => ok(e.verdict)).map((e) => e.update);
          const shuffled = [...accepted];
          let s = seed || 1;
          for (let i = shuffled.length - 1; i > 0; i--) {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            const j = s % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          const replica = new Y.Doc();
          for (const update of shuffled) Y.applyUpdate(replica, update);
          expect(replica.store.pendingStructs).toBeNull();
          const content = (doc: Y.Doc) =>
            [...snapshotOf(doc).entries()]
              .map(([name, value]) => `${name} ${canonical(value)}`)
              .sort();
          expect(content(replica)).toEqual(content(run.sequenced));
          expect(Y.encodeStateVector(replica)).toEqual(Y.encodeStateVector(run.sequenced));
        }),
        { numRuns: 100 },
      );
    },
    PROPERTY_TIMEOUT,
  );
});
