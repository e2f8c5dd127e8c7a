/**
 * SPEC.md "Authorship" for answers revealed together: who may write a reveal's answers, keys and
 * follow-ups, and when (README.md, "Who owns what"). Partner A's forging device writes; both
 * checkers judge.
 */
import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { PartnerId, RevealId } from './ids.js';
import {
  addRevealFollowUp,
  getReveal,
  openReveal,
  publishAnswerKey,
  submitHiddenAnswer,
} from './reveals.js';
import { hex32, sealedText } from './revealBytes.js';
import { roots } from './store.js';
import { A, B, T0 } from './testing/fixtures.js';
import { testAnswer } from './testing/reveals.js';
import { SealedRun, type Device } from './testing/sealedRun.js';
import { accepted, forged, refusedAs } from './testing/verdicts.js';

function answerOn(device: Device, id: RevealId, at = T0 + 10): void {
  const a = testAnswer(id, device.partnerId);
  submitHiddenAnswer(device.doc, { revealId: id, partnerId: device.partnerId, ...a, at });
}

function publishOn(device: Device, id: RevealId, at = T0 + 20): boolean {
  const key = testAnswer(id, device.partnerId).key;
  return publishAnswerKey(device.doc, { revealId: id, partnerId: device.partnerId, key, at });
}

/** B opened a reveal; `answered` says who has answered it so far. */
function withReveal(answered: readonly PartnerId[] = []) {
  const run = new SealedRun();
  const [a1, b1] = [run.device('a1'), run.device('b1')];
  let id = '' as RevealId;
  run.write(b1, (doc) => {
    id = openReveal(doc, { prompt: 'What did you need?', createdBy: B, at: T0 }, b1.newId).id;
  });
  for (const p of answered) run.write(p === A ? a1 : b1, () => answerOn(p === A ? a1 : b1, id));
  return { run, id, a1, b1 };
}

const reveal = (doc: Y.Doc, id: RevealId) => roots(doc).reveals.get(id)!;
const part = (doc: Y.Doc, id: RevealId, name: 'answers' | 'keys') =>
  reveal(doc, id).get(name) as Y.Map<unknown>;
const followUps = (doc: Y.Doc, id: RevealId) =>
  reveal(doc, id).get('followUps') as Y.Array<unknown>;

const storedAnswer = (id: RevealId, p: PartnerId, words?: string) => {
  const a = testAnswer(id, p, words);
  return {
    answerId: a.answerId,
    sealed: sealedText(a.sealed),
    commitment: hex32(a.commitment),
    at: T0,
  };
};
const storedKey = (id: RevealId, p: PartnerId) => ({ key: hex32(testAnswer(id, p).key), at: T0 });

describe('answers revealed together', () => {
  it('accepts the whole exchange from honest devices, on every device, answers a day apart', () => {
    const { run, id, a1, b1 } = withReveal([A]);
    const [a2, b2] = [run.device('a2'), run.device('b2')];
    run.write(b2, () => {
      answerOn(b2, id, T0 + 86_400_000);
      // B's device sees both answered at once, and publishes in the same batch.
      expect(publishOn(b2, id)).toBe(true);
    });
    // Both of A's devices publish A's key unaware of each other: the same key, twice.
    run.deliver(a1);
    run.deliver(a2);
    expect(publishOn(a1, id)).toBe(true);
    expect(publishOn(a2, id)).toBe(true);
    run.send(a1, 'merged');
    run.send(a2, 'merged');
    for (const d of run.devices) run.deliver(d);
    run.write(b1, (doc) => {
      addRevealFollowUp(
        doc,
        { revealId: id, partnerId: B, text: 'Thank you.', at: T0 + 30 },
        b1.newId,
      );
    });
    expect(run.log.map((e) => [e.verdict.ok, e.oracle.ok])).toEqual(
      run.log.map(() => [true, true]),
    );
    expect(run.disagreements).toEqual([]);
    expect(getReveal(run.sequenced, id)).toMatchObject({ revealed: true, followUps: [{ by: B }] });
  });

  it("refuses writing the other partner's answer, in their slot or one's own slot in their name", () => {
    const { run, id } = withReveal();
    expect(forged(run, (doc) => part(doc, id, 'answers').set(B, storedAnswer(id, B)))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => part(doc, id, 'answers').set(A, storedAnswer(id, A)))).toEqual(
      accepted,
    );
    expect(
      forged(run, (doc) =>
        part(doc, id, 'answers').set(A, { ...storedAnswer(id, A), sealed: 'x' }),
      ),
    ).toEqual(refusedAs('schema'));
  });

  it('refuses changing or removing an answer once written, and answers of a third person', () => {
    const { run, id } = withReveal([A, B]);
    expect(
      forged(run, (doc) => part(doc, id, 'answers').set(A, storedAnswer(id, A, 'other'))),
    ).toEqual(refusedAs('immutable'));
    expect(forged(run, (doc) => part(doc, id, 'answers').delete(A))).toEqual(
      refusedAs('immutable'),
    );
    expect(forged(run, (doc) => part(doc, id, 'answers').delete(B))).toEqual(
      refusedAs('others-content'),
    );
  });

  it('refuses a key before both answered, even in the same update as the answer', () => {
    const { run, id } = withReveal([A]);
    expect(forged(run, (doc) => part(doc, id, 'keys').set(A, storedKey(id, A)))).toEqual(
      refusedAs('precondition'),
    );
    const fresh = withReveal();
    expect(
      forged(fresh.run, (doc) => {
        part(doc, fresh.id, 'answers').set(A, storedAnswer(fresh.id, A));
        part(doc, fresh.id, 'keys').set(A, storedKey(fresh.id, A));
      }),
    ).toEqual(refusedAs('precondition'));
    // Once B has answered, A's answer and key may come together.
    const late = withReveal([B]);
    expect(
      forged(late.run, (doc) => {
        part(doc, late.id, 'answers').set(A, storedAnswer(late.id, A));
        part(doc, late.id, 'keys').set(A, storedKey(late.id, A));
      }),
    ).toEqual(accepted);
  });

  it("refuses a key that is not the committed one, the other partner's key, and changing or removing a published key", () => {
    const { run, id, a1, b1 } = withReveal([A, B]);
    const keys = (doc: Y.Doc) => part(doc, id, 'keys');
    expect(forged(run, (doc) => keys(doc).set(A, { key: '00'.repeat(32), at: T0 }))).toEqual(
      refusedAs('precondition'),
    );
    expect(forged(run, (doc) => keys(doc).set(A, storedKey(id, B)))).toEqual(
      refusedAs('precondition'),
    );
    expect(forged(run, (doc) => keys(doc).set(B, storedKey(id, B)))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => keys(doc).set(A, storedKey(id, A)))).toEqual(accepted);
    run.write(a1, () => publishOn(a1, id));
    run.write(b1, () => publishOn(b1, id));
    expect(forged(run, (doc) => keys(doc).set(A, { key: '11'.repeat(32), at: T0 }))).toEqual(
      refusedAs('precondition'),
    );
    // The same key again (a second device) changes nothing that was seen.
    expect(forged(run, (doc) => keys(doc).set(A, storedKey(id, A)))).toEqual(accepted);
    expect(forged(run, (doc) => keys(doc).delete(A))).toEqual(refusedAs('schema'));
    expect(forged(run, (doc) => keys(doc).delete(B))).toEqual(refusedAs('others-content'));
  });

  it("refuses a follow-up before the reveal, one in the other partner's name, and removing one", () => {
    const { run, id, a1, b1 } = withReveal([A, B]);
    const thought = (by: PartnerId) => ({ id: 'followupXXXXXXXXXXXX', by, text: 'Also…', at: T0 });
    run.write(a1, () => publishOn(a1, id));
    expect(forged(run, (doc) => followUps(doc, id).push([thought(A)]))).toEqual(
      refusedAs('precondition'),
    );
    // Publishing one's own key and adding a thought in one update, once the other's is out.
    const bothInOne = withReveal([A, B]);
    bothInOne.run.write(bothInOne.b1, () => publishOn(bothInOne.b1, bothInOne.id));
    expect(
      forged(bothInOne.run, (doc) => {
        part(doc, bothInOne.id, 'keys').set(A, storedKey(bothInOne.id, A));
        followUps(doc, bothInOne.id).push([thought(A)]);
      }),
    ).toEqual(accepted);
    run.write(b1, () => publishOn(b1, id));
    expect(forged(run, (doc) => followUps(doc, id).push([thought(A)]))).toEqual(accepted);
    expect(forged(run, (doc) => followUps(doc, id).push([thought(B)]))).toEqual(
      refusedAs('others-content'),
    );
    run.write(b1, (doc) =>
      addRevealFollowUp(doc, { revealId: id, partnerId: B, text: 'Yes.', at: T0 }, b1.newId),
    );
    expect(forged(run, (doc) => followUps(doc, id).delete(0, 1))).toEqual(refusedAs('append-only'));
  });

  it("refuses changing a reveal's prompt or kind, removing it, and a reveal in the other's name", () => {
    const { run, id } = withReveal();
    expect(forged(run, (doc) => reveal(doc, id).set('prompt', 'Another question?'))).toEqual(
      refusedAs('immutable'),
    );
    expect(forged(run, (doc) => reveal(doc, id).set('kind', 'after-a-fight'))).toEqual(
      refusedAs('immutable'),
    );
    expect(forged(run, (doc) => roots(doc).reveals.delete(id))).toEqual(refusedAs('immutable'));
    expect(
      forged(run, (doc) => openReveal(doc, { prompt: 'Mine?', createdBy: B, at: T0 })),
    ).toEqual(refusedAs('others-content'));
    expect(
      forged(run, (doc) => openReveal(doc, { prompt: 'Mine?', createdBy: A, at: T0 })),
    ).toEqual(accepted);
  });
});
