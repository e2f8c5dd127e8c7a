import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  acceptAgreement,
  editAgreement,
  getAgreement,
  listAgreements,
  logKeep,
  proposeAgreement,
  setAgreementLifecycle,
} from './agreements.js';
import type { UpdateAuthor } from './authorship.js';
import { acknowledgeBoundary, addBoundary, listBoundaries } from './boundaries.js';
import { checkIn, checkinKey } from './checkins.js';
import type { AgreementId, BoundaryId, QuestionId } from './ids.js';
import { Origin } from './origin.js';
import {
  answerQuestion,
  askQuestion,
  closeQuestion,
  listQuestions,
  markQuestionRead,
  reopenQuestion,
} from './questions.js';
import { addPartner, renameSpace, setDisplayName, setPartnerRole } from './space.js';
import { roots } from './store.js';
import { encodeUpdate } from './testing/craftedUpdates.js';
import { A, B, T0 } from './testing/fixtures.js';
import { SealedRun, writtenOn } from './testing/sealedRun.js';
import { FORGER, accepted, asA, forged, refusedAs, verdicts } from './testing/verdicts.js';

const DAY = '2026-11-02';

interface Lived {
  readonly run: SealedRun;
  readonly agreement: AgreementId;
  readonly asked: QuestionId;
  readonly theirQuestion: QuestionId;
  readonly theirBoundary: BoundaryId;
  readonly ownBoundary: BoundaryId;
}

/** A space both partners have used: each side's agreement acceptances, marks, answers... */
function lived(): Lived {
  const run = new SealedRun();
  const [a1, b1] = [run.device('a1'), run.device('b1')];
  const at = T0 + 60_000;
  run.write(b1, (doc) => {
    const id = proposeAgreement(doc, { title: 'No contact', body: 'None.', by: B, at }, b1.newId);
    acceptAgreement(doc, {
      agreementId: id,
      partnerId: B,
      fingerprint: getAgreement(doc, id)!.fingerprint,
      at,
    });
    logKeep(doc, { agreementId: id, partnerId: B, date: DAY, value: 'kept', at }, b1.newId);
    checkIn(doc, { partnerId: B, date: DAY, safety: 7, state: 'calm', note: 'ok', at });
    addBoundary(doc, { text: 'Knock first.', owner: B, at }, b1.newId);
    askQuestion(doc, { text: 'Why?', by: B, at }, b1.newId);
    setPartnerRole(doc, { partnerId: B, role: 'hurt' });
  });
  const agreement = listAgreements(run.sequenced)[0]!.id;
  run.write(a1, (doc) => {
    acceptAgreement(doc, {
      agreementId: agreement,
      partnerId: A,
      fingerprint: getAgreement(doc, agreement)!.fingerprint,
      at,
    });
    logKeep(
      doc,
      { agreementId: agreement, partnerId: A, date: DAY, value: 'missed', at },
      a1.newId,
    );
    askQuestion(doc, { text: 'Where were you?', by: A, at: at + 1 }, a1.newId);
    addBoundary(doc, { text: 'No phones at dinner.', owner: A, at: at + 1 }, a1.newId);
    const theirs = listBoundaries(doc).find((b) => b.owner === B)!;
    acknowledgeBoundary(doc, { boundaryId: theirs.id, by: A, fingerprint: theirs.fingerprint, at });
  });
  const asked = listQuestions(run.sequenced).find((q) => q.askedBy === A)!.id;
  run.write(b1, (doc) =>
    answerQuestion(doc, { questionId: asked, text: 'At work.', by: B, at }, b1.newId),
  );
  expect(run.log.every((e) => e.verdict.ok && e.oracle.ok)).toBe(true);
  return {
    run,
    agreement,
    asked,
    theirQuestion: listQuestions(run.sequenced).find((q) => q.askedBy === B)!.id,
    theirBoundary: listBoundaries(run.sequenced).find((b) => b.owner === B)!.id,
    ownBoundary: listBoundaries(run.sequenced).find((b) => b.owner === A)!.id,
  };
}

describe('what a partner may write', () => {
  it("accepts every write a partner makes through the model from that partner's device", () => {
    const { run } = lived();
    expect(run.log.map((e) => e.verdict)).toEqual(run.log.map(() => ({ ok: true })));
    expect(run.disagreements).toEqual([]);
  });

  it('accepts edits of what both share from either partner: wording, lifecycle, space name, question status', () => {
    const { run, agreement, theirQuestion } = lived();
    expect(
      forged(run, (doc) =>
        editAgreement(doc, { agreementId: agreement, body: 'None, ever.', by: A, at: T0 }),
      ),
    ).toEqual(accepted);
    expect(
      forged(run, (doc) =>
        setAgreementLifecycle(doc, { agreementId: agreement, lifecycle: 'paused', by: A, at: T0 }),
      ),
    ).toEqual(accepted);
    expect(forged(run, (doc) => renameSpace(doc, { name: 'Ours', by: A }))).toEqual(accepted);
    expect(
      forged(run, (doc) => closeQuestion(doc, { questionId: theirQuestion, by: A, at: T0 })),
    ).toEqual(accepted);
    expect(
      forged(run, (doc) => reopenQuestion(doc, { questionId: theirQuestion, by: A, at: T0 })),
    ).toEqual(accepted);
    expect(
      forged(run, (doc) =>
        markQuestionRead(doc, { questionId: theirQuestion, partnerId: A, at: T0 }),
      ),
    ).toEqual(accepted);
  });
});

describe("forgeries of the other partner's writing", () => {
  it("refuses writing, changing or deleting the other partner's check-in", () => {
    const { run } = lived();
    const key = checkinKey(DAY, B);
    expect(
      forged(run, (doc) =>
        checkIn(doc, { partnerId: B, date: '2026-11-03', safety: 2, state: 'fight', at: T0 }),
      ),
    ).toEqual(refusedAs('others-content'));
    expect(forged(run, (doc) => roots(doc).checkins.get(key)!.set('safety', 1))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => roots(doc).checkins.delete(key))).toEqual(
      refusedAs('others-content'),
    );
  });

  it("refuses an acceptance, a keep mark or an answer in the other partner's name", () => {
    const { run, agreement, theirQuestion } = lived();
    expect(
      forged(run, (doc) =>
        acceptAgreement(doc, {
          agreementId: agreement,
          partnerId: B,
          fingerprint: getAgreement(doc, agreement)!.fingerprint,
          at: T0,
        }),
      ),
    ).toEqual(refusedAs('others-content'));
    expect(
      forged(run, (doc) =>
        logKeep(doc, { agreementId: agreement, partnerId: B, date: DAY, value: 'missed', at: T0 }),
      ),
    ).toEqual(refusedAs('others-content'));
    expect(
      forged(run, (doc) =>
        answerQuestion(doc, { questionId: theirQuestion, text: 'Yes.', by: B, at: T0 }),
      ),
    ).toEqual(refusedAs('others-content'));
  });

  it("refuses changing the other partner's answer, name, role, read marker or question text", () => {
    const { run, asked, theirQuestion } = lived();
    const answerOf = (doc: Y.Doc) =>
      (roots(doc).questions.get(asked)!.get('answers') as Y.Array<Y.Map<unknown>>).get(0);
    expect(
      forged(run, (doc) =>
        doc.transact(
          () => (answerOf(doc).get('text') as Y.Text).insert(0, 'Not '),
          Origin.liveEdit,
        ),
      ),
    ).toEqual(refusedAs('others-content'));
    expect(
      forged(run, (doc) => setDisplayName(doc, { partnerId: B, displayName: 'Liar' })),
    ).toEqual(refusedAs('others-content'));
    expect(forged(run, (doc) => setPartnerRole(doc, { partnerId: B, role: null }))).toEqual(
      refusedAs('others-content'),
    );
    const markers = (doc: Y.Doc) =>
      roots(doc).questions.get(asked)!.get('readMarkers') as Y.Map<unknown>;
    expect(forged(run, (doc) => markers(doc).set(B, { at: T0, items: [] }))).toEqual(
      refusedAs('others-content'),
    );
    expect(
      forged(run, (doc) =>
        (roots(doc).questions.get(theirQuestion)!.get('text') as Y.Text).insert(0, 'Really? '),
      ),
    ).toEqual(refusedAs('others-content'));
  });

  it("refuses changing or deleting the other partner's boundary, and acknowledging one's own", () => {
    const { run, theirBoundary, ownBoundary } = lived();
    expect(
      forged(run, (doc) => roots(doc).boundaries.get(theirBoundary)!.set('text', 'Never mind.')),
    ).toEqual(refusedAs('others-content'));
    // Nobody deletes a boundary, its owner included.
    expect(forged(run, (doc) => roots(doc).boundaries.delete(theirBoundary))).toEqual(
      refusedAs('immutable'),
    );
    expect(
      forged(run, (doc) =>
        roots(doc)
          .boundaries.get(ownBoundary)!
          .set('acknowledgement', { by: A, at: T0, fingerprint: 'x' }),
      ),
    ).toEqual(refusedAs('others-content'));
    expect(
      forged(run, (doc) =>
        roots(doc)
          .boundaries.get(theirBoundary)!
          .set('acknowledgement', { by: B, at: T0, fingerprint: 'x' }),
      ),
    ).toEqual(refusedAs('others-content'));
  });

  it("refuses creating things in the other partner's name: an agreement, a boundary, a lifecycle change", () => {
    const { run, agreement } = lived();
    expect(
      forged(run, (doc) => proposeAgreement(doc, { title: 'T', body: '', by: B, at: T0 })),
    ).toEqual(refusedAs('others-content'));
    expect(forged(run, (doc) => addBoundary(doc, { text: 'Mine', owner: B, at: T0 }))).toEqual(
      refusedAs('others-content'),
    );
    expect(
      forged(run, (doc) =>
        setAgreementLifecycle(doc, { agreementId: agreement, lifecycle: 'retired', by: B, at: T0 }),
      ),
    ).toEqual(refusedAs('others-content'));
  });

  it("refuses writing the other partner's record or a third partner", () => {
    const run = new SealedRun();
    const third = 'partnerCCCCCCCCCCCCC' as typeof A;
    const asThird: UpdateAuthor = { partnerId: third, clientIds: new Set([FORGER]) };
    const join = (doc: Y.Doc) =>
      addPartner(doc, { id: third, displayName: 'C', joinedAt: T0, color: '#000000' });
    // addPartner refuses a third partner itself; write the record by hand as a forger would.
    const raw = (doc: Y.Doc) => {
      const record = new Y.Map<unknown>();
      roots(doc).partners.set(third, record);
      for (const [k, v] of Object.entries({
        id: third,
        displayName: 'C',
        joinedAt: T0,
        color: '#000000',
      }))
        record.set(k, v);
    };
    expect(() => writtenOn(run.sequenced, FORGER, join)).toThrow();
    expect(verdicts(run.sequenced, writtenOn(run.sequenced, FORGER, raw), asThird)).toEqual(
      refusedAs('schema'),
    );
    expect(verdicts(run.sequenced, writtenOn(run.sequenced, FORGER, raw), asA)).toEqual(
      refusedAs('others-content'),
    );
  });
});

describe('histories and what is set once', () => {
  it("refuses deleting entries of the acceptance history, the keep log or a thread, even one's own", () => {
    const { run, agreement, asked } = lived();
    const list = (doc: Y.Doc, key: string) =>
      roots(doc).agreements.get(agreement)!.get(key) as Y.Array<unknown>;
    expect(forged(run, (doc) => list(doc, 'history').delete(1, 1))).toEqual(
      refusedAs('append-only'),
    );
    expect(forged(run, (doc) => list(doc, 'keepLog').delete(1, 1))).toEqual(
      refusedAs('append-only'),
    );
    expect(
      forged(run, (doc) =>
        (roots(doc).questions.get(asked)!.get('answers') as Y.Array<unknown>).delete(0, 1),
      ),
    ).toEqual(refusedAs('append-only'));
  });

  it('refuses rewriting ids, authors, creation times and the schema version', () => {
    const { run, agreement } = lived();
    const a = (doc: Y.Doc) => roots(doc).agreements.get(agreement)!;
    expect(forged(run, (doc) => a(doc).set('createdAt', T0 + 5))).toEqual(refusedAs('immutable'));
    expect(forged(run, (doc) => a(doc).set('createdBy', A))).toEqual(refusedAs('immutable'));
    expect(forged(run, (doc) => roots(doc).space.set('createdAt', T0 + 5))).toEqual(
      refusedAs('immutable'),
    );
    expect(forged(run, (doc) => roots(doc).agreements.delete(agreement))).toEqual(
      refusedAs('immutable'),
    );
  });

  it('refuses rewriting a set-once field with its own value: the write is judged, though the oracle sees no change', () => {
    const { run } = lived();
    expect(forged(run, (doc) => roots(doc).space.set('schemaVersion', 1))).toEqual({
      fast: 'immutable',
      slow: 'accepted',
    });
  });

  it("refuses replacing an agreement's acceptances, which would wipe both partners'", () => {
    const { run, agreement } = lived();
    expect(
      forged(run, (doc) => roots(doc).agreements.get(agreement)!.set('acceptances', new Y.Map())),
    ).toEqual(refusedAs('immutable'));
  });

  it("refuses a history entry whose fingerprint is not its wording's (it would fake what was agreed)", () => {
    const { run, agreement } = lived();
    const entry = {
      title: 'Other',
      body: 'Text',
      fingerprint: getAgreement(run.sequenced, agreement)!.fingerprint,
      acceptedBy: A,
      at: T0,
    };
    expect(
      forged(run, (doc) =>
        (roots(doc).agreements.get(agreement)!.get('history') as Y.Array<unknown>).push([entry]),
      ),
    ).toEqual(refusedAs('schema'));
  });
});

describe('the schema', () => {
  it('refuses an unknown root, an unknown field and a value of the wrong kind', () => {
    const { run } = lived();
    expect(forged(run, (doc) => doc.getMap('practices').set('x', 1))).toEqual(refusedAs('schema'));
    expect(forged(run, (doc) => roots(doc).partners.get(A)!.set('nickname', 'Al'))).toEqual(
      refusedAs('schema'),
    );
    expect(forged(run, (doc) => roots(doc).partners.get(A)!.set('showsHere', 'no'))).toEqual(
      refusedAs('schema'),
    );
    expect(forged(run, (doc) => roots(doc).partners.get(A)!.set('color', 'red'))).toEqual(
      refusedAs('schema'),
    );
  });

  it('refuses formatting in a text, and a rich text where a plain one belongs', () => {
    const { run, agreement } = lived();
    const body = (doc: Y.Doc) => roots(doc).agreements.get(agreement)!.get('body') as Y.Text;
    expect(forged(run, (doc) => body(doc).format(0, 2, { bold: true }))).toEqual(
      refusedAs('schema'),
    );
    const fresh = (doc: Y.Doc) => {
      const a = new Y.Map<unknown>();
      roots(doc).agreements.set('agreementXXXXXXXXXXXX', a);
      a.set('title', new Y.XmlText('T'));
    };
    expect(forged(run, fresh)).toEqual(refusedAs('schema'));
  });

  it('refuses a new record without its required fields, and removing a required field', () => {
    const { run, agreement } = lived();
    const bare = (doc: Y.Doc) => roots(doc).agreements.set('agreementXXXXXXXXXXXX', new Y.Map());
    expect(forged(run, bare)).toEqual(refusedAs('schema'));
    expect(forged(run, (doc) => roots(doc).agreements.get(agreement)!.delete('lifecycle'))).toEqual(
      refusedAs('schema'),
    );
  });

  it('refuses a value crafted to lose to what it seems to replace, which would remove a required field', () => {
    const { run, agreement } = lived();
    const map = roots(run.sequenced).agreements.get(agreement)!;
    const current = map._map.get('lifecycle')!.id;
    // A deleted run of three clocks after the lifecycle, then 'paused' hung inside that run:
    // Yjs places 'paused' before the run's rest and drops it, so the agreement loses its
    // lifecycle and vanishes from both partners' lists.
    const crafted = encodeUpdate([
      {
        client: FORGER,
        clock: 0,
        structs: [
          { deleted: 3, origin: current },
          { value: 'paused', origin: { client: FORGER, clock: 0 } },
        ],
      },
    ]);
    const applied = new Y.Doc();
    Y.applyUpdate(applied, Y.encodeStateAsUpdate(run.sequenced));
    Y.applyUpdate(applied, crafted);
    expect(listAgreements(applied)).toEqual([]);
    expect(verdicts(run.sequenced, crafted, asA)).toEqual(refusedAs('schema'));
  });

  it('refuses a check-in whose fields contradict its key', () => {
    const { run } = lived();
    const wrong = (doc: Y.Doc) => {
      const c = new Y.Map<unknown>();
      roots(doc).checkins.set(checkinKey('2026-11-03', A), c);
      for (const [k, v] of Object.entries({
        date: '2026-11-04',
        partnerId: A,
        createdAt: T0,
        note: '',
        safety: 5,
        state: 'calm',
        updatedAt: T0,
      }))
        c.set(k, v);
    };
    expect(forged(run, wrong)).toEqual(refusedAs('schema'));
  });
});
