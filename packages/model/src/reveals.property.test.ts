/**
 * Properties of answers revealed together (SPEC.md, Reveals), in sealed spaces: both partners'
 * two devices open prompts, answer, publish their keys as soon as both have answered, and add
 * later thoughts, sending and delivering eagerly so that they race; forgers write what they like.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { UpdateAuthor } from './authorship.js';
import type { PartnerId } from './ids.js';
import { ownedByOthers } from './ownership.js';
import { canonical, snapshotOf } from './plainSnapshot.js';
import { listReveals } from './reveals.js';
import { hex32 } from './revealBytes.js';
import { RevealAnswerStatus } from './schema.js';
import { roots } from './store.js';
import { A, B } from './testing/fixtures.js';
import { forgery } from './testing/forgeries.js';
import { revealOps } from './testing/honestOps.js';
import { SealedRun, type SendMode } from './testing/sealedRun.js';

const [open, answer, publish, followUp] = revealOps;
/** Fewer prompts than answers and keys, so that runs reach reveals and thoughts after them. */
const revealOp = fc.oneof(
  { weight: 1, arbitrary: open },
  { weight: 4, arbitrary: answer },
  { weight: 4, arbitrary: publish },
  { weight: 3, arbitrary: followUp },
);
const step = fc.record({
  device: fc.nat({ max: 3 }),
  op: revealOp,
  send: fc.constantFrom<SendMode | null>(null, 'each', 'merged', 'diff'),
  deliverTo: fc.nat({ max: 3 }),
  deliver: fc.nat({ max: 8 }),
  reload: fc.nat({ max: 6 }).map((n) => n === 0),
});
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

const PROPERTY_TIMEOUT = 120_000;

function stepHonestly(run: SealedRun, s: Step): void {
  const device = run.devices[s.device]!;
  run.perform(device, s.op);
  if (s.send) run.send(device, s.send);
  const receiver = run.devices[s.deliverTo]!;
  if (s.reload) run.reload(receiver);
  run.deliver(receiver, s.deliver);
}

/**
 * What each document has shown of each reveal so far: every answer, key and follow-up, by where
 * it was seen first. Checked after every step: what was shown never changes or goes away, keys
 * appear only where both answered, and the reveal only with both keys.
 */
class Witness {
  readonly #seen = new Map<string, string>();
  readonly #followUps = new Map<string, string[]>();
  revealed = 0;

  look(doc: Y.Doc, where: string): void {
    for (const r of listReveals(doc)) {
      const keyed = r.partners.filter((p) => p.status === RevealAnswerStatus.revealed);
      if (keyed.length > 0) expect(r.bothAnswered).toBe(true);
      expect(r.revealed).toBe(keyed.length === 2);
      if (!r.revealed) expect(r.followUps).toEqual([]);
      else this.revealed++;
      for (const p of r.partners) {
        if (!p.answer) continue;
        const a = p.answer;
        this.#same(
          `${where}/${r.id}/${p.partnerId}/answer`,
          [a.answerId, hex32(a.sealed), hex32(a.commitment)].join(),
        );
        if (a.key) this.#same(`${where}/${r.id}/${p.partnerId}/key`, hex32(a.key));
      }
      const ids = r.followUps.map((f) => `${f.id} ${f.by} ${f.text}`);
      const before = this.#followUps.get(`${where}/${r.id}`) ?? [];
      // Appended only: what was shown stays, in the order it was shown.
      let i = 0;
      for (const id of ids) if (id === before[i]) i++;
      expect(i).toBe(before.length);
      this.#followUps.set(`${where}/${r.id}`, ids);
    }
    // Everything once shown on this document is still there.
    for (const path of this.#seen.keys()) {
      if (!path.startsWith(`${where}/`)) continue;
      const [, id, partner, part] = path.split('/');
      const r = listReveals(doc).find((x) => x.id === id);
      const p = r?.partners.find((x) => x.partnerId === partner);
      expect(part === 'key' ? p?.answer?.key : p?.answer).toBeTruthy();
    }
  }

  #same(path: string, value: string): void {
    const earlier = this.#seen.get(path);
    if (earlier !== undefined) expect(value).toBe(earlier);
    this.#seen.set(path, value);
    // Every document shows the same answer and key for a partner (one is never two).
    const global = `*/${path.split('/').slice(1).join('/')}`;
    const shown = this.#seen.get(global);
    if (shown !== undefined) expect(value).toBe(shown);
    else this.#seen.set(global, value);
  }
}

/**
 * The log and every device's replica of it, and (`working`) each device's working document.
 * A working document also holds the device's own writes not sequenced yet, and where a forging
 * device of the same partner answered first, the device's own answer there is replaced (and
 * then refused): accepted state is what must never change.
 */
function lookEverywhere(run: SealedRun, witness: Witness, working: boolean): void {
  witness.look(run.sequenced, 'log');
  for (const d of run.devices) {
    if (working) witness.look(d.doc, d.name);
    witness.look(d.replica, `${d.name}-replica`);
  }
}

function writesAt(map: Y.Map<unknown>, key: string): number {
  let count = 0;
  for (let item = map._map.get(key) ?? null; item; item = item.left) count++;
  return count;
}

describe('answers revealed together', () => {
  it(
    'honest devices racing are never refused; the reveal happens only when both answered, and nothing shown changes',
    () => {
      let revealed = 0;
      let followUps = 0;
      let keysTwice = 0;
      fc.assert(
        fc.property(fc.array(step, { minLength: 10, maxLength: 50 }), (steps) => {
          const run = new SealedRun();
          const witness = new Witness();
          run.write(run.device('a1'), (doc) => {
            run.perform(run.device('a1'), {
              t: 'openReveal',
              prompt: 'What did you need?',
              kind: undefined,
            });
            expect(listReveals(doc)).toHaveLength(1);
          });
          for (const s of steps) {
            stepHonestly(run, s);
            lookEverywhere(run, witness, true);
          }
          // Then every device catches up and publishes what is due, as the app does on its own.
          for (let round = 0; round < 2; round++) {
            for (const d of run.devices) run.send(d, 'merged');
            for (const d of run.devices) run.deliver(d);
            for (const d of run.devices) run.perform(d, { t: 'publishKeys' });
          }
          for (const d of run.devices) run.send(d, 'merged');
          for (const d of run.devices) run.deliver(d);
          lookEverywhere(run, witness, true);
          const refused = run.log.filter((e) => !e.verdict.ok || !e.oracle.ok);
          expect(refused.map((e) => [e.verdict, e.oracle])).toEqual([]);
          expect(run.disagreements).toEqual([]);
          const content = (doc: Y.Doc) =>
            [...snapshotOf(doc).entries()].map(([n, v]) => `${n} ${canonical(v)}`).sort();
          for (const d of run.devices) expect(content(d.doc)).toEqual(content(run.sequenced));
          const all = listReveals(run.sequenced);
          revealed += all.filter((r) => r.revealed).length;
          followUps += all.reduce((n, r) => n + r.followUps.length, 0);
          for (const r of roots(run.sequenced).reveals.values()) {
            const keys = r.get('keys') as Y.Map<unknown>;
            if (writesAt(keys, A) > 1 || writesAt(keys, B) > 1) keysTwice++;
          }
        }),
        { numRuns: 100 },
      );
      // The runs reach what the property is about.
      expect(revealed).toBeGreaterThan(0);
      expect(followUps).toBeGreaterThan(0);
      expect(keysTwice).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "a forging partner cannot change the other's answer, key or thoughts, reveal early, or change what was shown; the fast checker is never laxer than the oracle",
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
            run.perform(run.device('b1'), { t: 'openReveal', prompt: 'Why?', kind: undefined });
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
        { numRuns: 100 },
      );
      expect(accepted).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT,
  );
});
