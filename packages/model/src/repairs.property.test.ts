/**
 * Properties of after-a-fight repairs and weekly meetings (SPEC.md, After a fight; Weekly
 * meetings), in sealed spaces: both partners' two devices answer a repair's steps, write and
 * complete step five, start the week's meeting and write in it, sending and delivering eagerly
 * so that they race; forgers write what they like.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { UpdateAuthor } from './authorship.js';
import type { PartnerId } from './ids.js';
import { listMeetings } from './meetings.js';
import { ownedByOthers } from './ownership.js';
import { canonical, snapshotOf } from './plainSnapshot.js';
import { listRepairs } from './repairs.js';
import { A, B } from './testing/fixtures.js';
import { forgery } from './testing/forgeries.js';
import { repairOps, revealOps } from './testing/honestOps.js';
import { SealedRun, type SendMode } from './testing/sealedRun.js';

const [, answer, publish] = revealOps;
const [startRepairOp, nextTime, draft, complete, startMeeting, appreciate, wentWell, issue, day] =
  repairOps;
/** Weighted so that runs reach repairs completed and meetings with an issue. */
const op = fc.oneof(
  { weight: 1, arbitrary: startRepairOp },
  { weight: 6, arbitrary: answer },
  { weight: 4, arbitrary: publish },
  { weight: 3, arbitrary: nextTime },
  { weight: 1, arbitrary: draft },
  { weight: 3, arbitrary: complete },
  { weight: 2, arbitrary: startMeeting },
  { weight: 2, arbitrary: appreciate },
  { weight: 1, arbitrary: wentWell },
  { weight: 1, arbitrary: issue },
  { weight: 1, arbitrary: day },
);
const step = fc.record({
  device: fc.nat({ max: 3 }),
  op,
  send: fc.constantFrom<SendMode | null>(null, 'each', 'merged', 'diff'),
  deliverTo: fc.nat({ max: 3 }),
  deliver: fc.nat({ max: 8 }),
  reload: fc.nat({ max: 6 }).map((n) => n === 0),
});
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

const PROPERTY_TIMEOUT = 180_000;

function stepHonestly(run: SealedRun, s: Step): void {
  const device = run.devices[s.device]!;
  run.perform(device, s.op);
  if (s.send) run.send(device, s.send);
  const receiver = run.devices[s.deliverTo]!;
  if (s.reload) run.reload(receiver);
  run.deliver(receiver, s.deliver);
}

/**
 * What each document has shown of completed repairs: once completed, a repair's completion and
 * the step five it was completed with never change there, and are the same on every document.
 * And every document shows at most one meeting a week.
 */
class Witness {
  readonly #completed = new Map<string, string>();
  completions = 0;

  look(doc: Y.Doc, where: string): void {
    for (const r of listRepairs(doc)) {
      if (!r.completed) {
        expect(this.#completed.has(`${where}/${r.id}`)).toBe(false);
        continue;
      }
      const shown = JSON.stringify([r.completed, r.nextTime.map((p) => p.current)]);
      for (const path of [`${where}/${r.id}`, `*/${r.id}`]) {
        const earlier = this.#completed.get(path);
        if (earlier !== undefined) expect(shown).toBe(earlier);
        else this.#completed.set(path, shown);
      }
      // Completed only with all four revealed and both answers to step five.
      expect(r.stepsRevealed).toBe(true);
      expect(r.nextTime.every((p) => p.current !== null)).toBe(true);
      this.completions++;
    }
    const weeks = listMeetings(doc).map((m) => m.week);
    expect(new Set(weeks).size).toBe(weeks.length);
    for (const m of listMeetings(doc)) {
      for (const p of m.partners)
        expect(p.appreciations.every((a) => a.by === p.partnerId)).toBe(true);
    }
  }
}

/** Every device sends and receives everything and publishes the keys due, twice over. */
function catchUp(run: SealedRun): void {
  for (let round = 0; round < 2; round++) {
    for (const d of run.devices) run.send(d, 'merged');
    for (const d of run.devices) run.deliver(d);
    for (const d of run.devices) run.perform(d, { t: 'publishKeys' });
  }
  for (const d of run.devices) run.send(d, 'merged');
  for (const d of run.devices) run.deliver(d);
}

function lookEverywhere(run: SealedRun, witness: Witness, working: boolean): void {
  witness.look(run.sequenced, 'log');
  for (const d of run.devices) {
    if (working) witness.look(d.doc, d.name);
    witness.look(d.replica, `${d.name}-replica`);
  }
}

describe('after a fight and weekly meetings', () => {
  it(
    'honest devices racing are never refused, one meeting a week converges, and nothing completed changes',
    () => {
      let completions = 0;
      let meetings = 0;
      let issues = 0;
      let drafts = 0;
      fc.assert(
        fc.property(
          fc.array(step, { minLength: 10, maxLength: 40 }),
          fc.array(step, { minLength: 10, maxLength: 30 }),
          fc.boolean(),
          (steps, later, answered) => {
            const run = new SealedRun();
            const witness = new Witness();
            run.write(run.device('b1'), () =>
              run.perform(run.device('b1'), { t: 'startRepair', title: 'The dinner' }),
            );
            if (answered) {
              // Both have answered the four steps (one device each, unaware of the other's).
              for (const name of ['a1', 'b1']) {
                for (let i = 0; i < 4; i++) {
                  run.perform(run.device(name), {
                    t: 'answerReveal',
                    pick: 0,
                    words: 'I was hurt',
                  });
                }
              }
            }
            // Racing, then everyone catching up (and publishing what keys are due, as the app does
            // on its own), then racing again: what was answered is revealed by then, and completed.
            for (const phase of [steps, later]) {
              for (const s of phase) {
                stepHonestly(run, s);
                lookEverywhere(run, witness, true);
              }
              catchUp(run);
            }
            lookEverywhere(run, witness, true);
            const refused = run.log.filter((e) => !e.verdict.ok || !e.oracle.ok);
            expect(refused.map((e) => [e.verdict, e.oracle])).toEqual([]);
            expect(run.disagreements).toEqual([]);
            const content = (doc: Y.Doc) =>
              [...snapshotOf(doc).entries()].map(([n, v]) => `${n} ${canonical(v)}`).sort();
            const views = (doc: Y.Doc) => JSON.stringify([listRepairs(doc), listMeetings(doc)]);
            for (const d of run.devices) {
              expect(content(d.doc)).toEqual(content(run.sequenced));
              expect(views(d.doc)).toBe(views(run.sequenced));
            }
            const all = listMeetings(run.sequenced);
            expect(all.length).toBeLessThanOrEqual(1);
            meetings += all.length;
            issues += all.filter((m) => m.issue !== null).length;
            const repairs = listRepairs(run.sequenced);
            completions += repairs.filter((r) => r.completed).length;
            drafts += repairs.flatMap((r) => r.nextTime).filter((p) => p.agreementId).length;
          },
        ),
        { numRuns: 60 },
      );
      // The runs reach what the property is about.
      expect(completions).toBeGreaterThan(0);
      expect(meetings).toBeGreaterThan(0);
      expect(issues).toBeGreaterThan(0);
      expect(drafts).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "a forging partner cannot change the other's step five, appreciations or words, or what was completed; the fast checker is never laxer than the oracle",
    () => {
      let accepted = 0;
      fc.assert(
        fc.property(
          fc.constantFrom(A, B),
          fc.array(
            fc.oneof(
              { weight: 3, arbitrary: step.map((s) => ({ kind: 'honest' as const, s })) },
              { weight: 2, arbitrary: forgery.map((f) => ({ kind: 'forged' as const, f })) },
            ),
            { maxLength: 40 },
          ),
          (forger: PartnerId, moves) => {
            const run = new SealedRun();
            const witness = new Witness();
            run.perform(run.device('b1'), { t: 'startRepair', title: 'Why?' });
            run.perform(run.device('b1'), { t: 'startMeeting' });
            run.send(run.device('b1'), 'merged');
            let client = 100;
            for (const move of moves) {
              if (move.kind === 'honest') stepHonestly(run, move.s);
              else {
                const author: UpdateAuthor = { partnerId: forger, clientIds: new Set([++client]) };
                const victim = () =>
                  JSON.stringify([...ownedByOthers(snapshotOf(run.sequenced), forger).fixed]);
                const before = victim();
                const entry = run.post(move.f.write(run, forger, client), author);
                if (entry.verdict.ok) {
                  accepted++;
                  expect(entry.oracle).toEqual({ ok: true });
                }
                expect(victim()).toBe(before);
              }
              lookEverywhere(run, witness, false);
            }
            expect(run.disagreements).toEqual([]);
          },
        ),
        { numRuns: 60 },
      );
      expect(accepted).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT,
  );
});
