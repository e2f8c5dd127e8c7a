import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { RevealId } from './ids.js';
import { Origin } from './origin.js';
import {
  addRevealFollowUp,
  answerKeysDue,
  getReveal,
  listReveals,
  openReveal,
  publishAnswerKey,
  submitHiddenAnswer,
} from './reveals.js';
import { answerKeyCommitment } from './revealBytes.js';
import { Limits, RevealAnswerStatus } from './schema.js';
import { roots } from './store.js';
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
import { testAnswer } from './testing/reveals.js';

const newId = counterIds('reveal-id-');
const PROMPT = 'What did you need from me last night?';

function opened(doc = twoPartnerSpace()) {
  const reveal = openReveal(doc, { prompt: PROMPT, createdBy: A, at: T0 }, newId);
  return { doc, id: reveal.id };
}

function answer(doc: Y.Doc, id: RevealId, partnerId: typeof A, at = T0 + 10) {
  const a = testAnswer(id, partnerId);
  submitHiddenAnswer(doc, { revealId: id, partnerId, ...a, at });
  return a;
}

function publish(doc: Y.Doc, id: RevealId, partnerId: typeof A, at = T0 + 20): boolean {
  return publishAnswerKey(doc, { revealId: id, partnerId, key: testAnswer(id, partnerId).key, at });
}

const statuses = (doc: Y.Doc, id: RevealId) =>
  getReveal(doc, id)!.partners.map((p) => [p.partnerId, p.status]);

describe('reveals', () => {
  it('opens a prompt both will answer, with a kind if a practice gives one, in one transaction', () => {
    const doc = twoPartnerSpace();
    const origins = originsOf(doc, () => {
      openReveal(doc, { prompt: PROMPT, createdBy: B, kind: 'after-a-fight', at: T0 }, newId);
    });
    expect(origins).toEqual([Origin.openReveal]);
    const [r] = listReveals(doc);
    expect(r).toMatchObject({
      prompt: PROMPT,
      kind: 'after-a-fight',
      createdBy: B,
      createdAt: T0,
      bothAnswered: false,
      revealed: false,
      followUps: [],
    });
    expect(r!.partners.map((p) => [p.partnerId, p.status, p.answer])).toEqual([
      [A, 'not-answered', null],
      [B, 'not-answered', null],
    ]);
  });

  it('refuses an empty or overlong prompt, a bad kind and a stranger, writing nothing', () => {
    const doc = twoPartnerSpace();
    const cases = [
      () => openReveal(doc, { prompt: '  ', createdBy: A, at: T0 }),
      () => openReveal(doc, { prompt: 'x'.repeat(Limits.revealPrompt + 1), createdBy: A, at: T0 }),
      () => openReveal(doc, { prompt: PROMPT, kind: 'After A Fight', createdBy: A, at: T0 }),
      () =>
        openReveal(doc, { prompt: PROMPT, createdBy: 'strangerXXXXXXXXXXXX' as typeof A, at: T0 }),
    ];
    expect(cases.map(codeOf)).toEqual([
      'invalid-argument',
      'invalid-argument',
      'invalid-argument',
      'not-found',
    ]);
    for (const c of cases) expect(updatesDuring(doc, c)).toEqual([]);
  });

  it('shows the partner only that the other has answered, until both have', () => {
    const { doc, id } = opened();
    const a = answer(doc, id, A);
    expect(statuses(doc, id)).toEqual([
      [A, 'answered'],
      [B, 'not-answered'],
    ]);
    const view = getReveal(doc, id)!.partners[0]!.answer!;
    expect(view).toMatchObject({ answerId: a.answerId, by: A, at: T0 + 10, key: null });
    expect(view.sealed).toEqual(a.sealed);
    expect(view.commitment).toEqual(a.commitment);
    expect(getReveal(doc, id)!.bothAnswered).toBe(false);
    expect(answerKeysDue(doc, A)).toEqual([]);
  });

  it('takes one answer per partner, never changed', () => {
    const { doc, id } = opened();
    answer(doc, id, A);
    const again = () => answer(doc, id, A, T0 + 99);
    expect(codeOf(again)).toBe('not-allowed');
    expect(updatesDuring(doc, again)).toEqual([]);
  });

  it('refuses sealed bytes or a commitment of the wrong size', () => {
    const { doc, id } = opened();
    const a = testAnswer(id, A);
    const base = { revealId: id, partnerId: A, answerId: a.answerId, at: T0 };
    expect(
      codeOf(() =>
        submitHiddenAnswer(doc, { ...base, sealed: new Uint8Array(10), commitment: a.commitment }),
      ),
    ).toBe('invalid-argument');
    expect(
      codeOf(() =>
        submitHiddenAnswer(doc, { ...base, sealed: a.sealed, commitment: new Uint8Array(31) }),
      ),
    ).toBe('invalid-argument');
  });

  it('refuses a key before both answered, a key that is not the committed one, and another partner publishing', () => {
    const { doc, id } = opened();
    answer(doc, id, A);
    expect(codeOf(() => publish(doc, id, A))).toBe('not-allowed');
    answer(doc, id, B);
    expect(answerKeysDue(doc, A).map((d) => d.revealId)).toEqual([id]);
    const wrong = () =>
      publishAnswerKey(doc, { revealId: id, partnerId: A, key: new Uint8Array(32), at: T0 });
    expect(codeOf(wrong)).toBe('invalid-argument');
    // B cannot publish A's key under their own name: it does not open B's commitment.
    const asB = () =>
      publishAnswerKey(doc, { revealId: id, partnerId: B, key: testAnswer(id, A).key, at: T0 });
    expect(codeOf(asB)).toBe('invalid-argument');
    expect(updatesDuring(doc, wrong)).toEqual([]);
    expect(statuses(doc, id)).toEqual([
      [A, 'answered'],
      [B, 'answered'],
    ]);
  });

  it('reveals both once both keys are published; a key is published once', () => {
    const { doc, id } = opened();
    answer(doc, id, A);
    answer(doc, id, B);
    expect(originsOf(doc, () => expect(publish(doc, id, A)).toBe(true))).toEqual([
      Origin.publishAnswerKey,
    ]);
    expect(statuses(doc, id)).toEqual([
      [A, 'revealed'],
      [B, 'answered'],
    ]);
    expect(getReveal(doc, id)!.revealed).toBe(false);
    expect(updatesDuring(doc, () => expect(publish(doc, id, A, T0 + 30)).toBe(false))).toEqual([]);
    publish(doc, id, B);
    const r = getReveal(doc, id)!;
    expect(r.revealed).toBe(true);
    expect(r.partners.map((p) => p.answer!.key)).toEqual([
      testAnswer(id, A).key,
      testAnswer(id, B).key,
    ]);
    expect(answerKeyCommitment(r.partners[0]!.answer!.key!)).toEqual(
      r.partners[0]!.answer!.commitment,
    );
    expect(answerKeysDue(doc, A)).toEqual([]);
  });

  it('adds later thoughts below, only after the reveal, in order', () => {
    const { doc, id } = opened();
    answer(doc, id, A);
    answer(doc, id, B);
    publish(doc, id, A);
    const early = () =>
      addRevealFollowUp(doc, { revealId: id, partnerId: A, text: 'Also…', at: T0 });
    expect(codeOf(early)).toBe('not-allowed');
    expect(updatesDuring(doc, early)).toEqual([]);
    publish(doc, id, B);
    const first = addRevealFollowUp(
      doc,
      { revealId: id, partnerId: B, text: 'I see it now.', at: T0 + 40 },
      newId,
    );
    addRevealFollowUp(doc, { revealId: id, partnerId: A, text: 'Thank you.', at: T0 + 50 }, newId);
    expect(getReveal(doc, id)!.followUps.map((f) => [f.by, f.text])).toEqual([
      [B, 'I see it now.'],
      [A, 'Thank you.'],
    ]);
    expect(first).toMatchObject({ by: B, at: T0 + 40 });
    expect(
      codeOf(() => addRevealFollowUp(doc, { revealId: id, partnerId: A, text: ' ', at: T0 })),
    ).toBe('invalid-argument');
  });

  it('works asynchronously: one answers on one replica, the other a day later on another', () => {
    const { doc: a, id } = opened();
    const b = replicaOf(a);
    answer(a, id, A);
    sync(a, b);
    expect(statuses(b, id)).toEqual([
      [A, 'answered'],
      [B, 'not-answered'],
    ]);
    answer(b, id, B, T0 + 86_400_000);
    publish(b, id, B);
    sync(a, b);
    expect(answerKeysDue(a, A).map((d) => d.revealId)).toEqual([id]);
    publish(a, id, A);
    sync(a, b);
    expect(getReveal(a, id)!.revealed).toBe(true);
    expect(getReveal(b, id)).toEqual(getReveal(a, id));
  });

  it('reads a reveal whose stored parts are wrong as not there, and a wrong key as not published', () => {
    const { doc, id } = opened();
    answer(doc, id, A);
    answer(doc, id, B);
    const entry = roots(doc).reveals.get(id)!;
    (entry.get('keys') as Y.Map<unknown>).set(A, { key: '00'.repeat(32), at: T0 });
    expect(statuses(doc, id)[0]).toEqual([A, RevealAnswerStatus.answered]);
    (entry.get('answers') as Y.Map<unknown>).set(B, { junk: true });
    expect(statuses(doc, id)[1]).toEqual([B, RevealAnswerStatus.notAnswered]);
    entry.delete('followUps');
    expect(getReveal(doc, id)).toBeNull();
    expect(listReveals(doc)).toEqual([]);
  });
});
