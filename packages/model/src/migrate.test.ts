import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { acceptAgreement, getAgreement, listAgreements, logKeep } from './agreements.js';
import { callBreak, listBreaks } from './breaks.js';
import { getCheckin, listCheckins } from './checkins.js';
import { ModelErrorCode } from './errors.js';
import { ID_PATTERN, type AgreementId, type QuestionId } from './ids.js';
import { migrate, schemaVersionOf } from './migrate.js';
import { Origin } from './origin.js';
import { answerQuestion, getQuestion, markQuestionRead } from './questions.js';
import { SCHEMA_VERSION } from './schema.js';
import { listShares, saveShare } from './shares.js';
import { getSpace, listPartners } from './space.js';
import { A, B, T0, codeOf, originsOf, twoPartnerSpace } from './testing/fixtures.js';

const ACTIVE = 'agreementACTIVE00001' as AgreementId;
const PROPOSED = 'agreementPROPOSED001' as AgreementId;
const QUESTION = 'questionQQQQQQQQQQQQ' as QuestionId;

/** A document as the pre-release (schema 0) code wrote it; see the v0 notes in migrate.ts. */
function v0Document(): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    const space = doc.getMap<unknown>('space');
    space.set('name', 'Old space');
    space.set('createdAt', T0);
    const partners = doc.getMap<unknown>('partners');
    partners.set(A, { displayName: 'Alex', joinedAt: T0, color: '#aa3355', role: 'hurt' });
    partners.set(B, { displayName: 'Sam', joinedAt: T0 + 1, color: '#3355aa' });

    const agreements = doc.getMap<Y.Map<unknown>>('agreements');
    for (const [id, status, acceptedBy] of [
      [ACTIVE, 'active', [A, B]],
      [PROPOSED, 'proposed', [A]],
    ] as const) {
      const a = new Y.Map<unknown>();
      a.set('title', new Y.Text(`Title ${status}`));
      a.set('body', new Y.Text('Body'));
      a.set('createdBy', A);
      a.set('createdAt', T0);
      a.set('status', status);
      a.set('acceptedBy', [...acceptedBy]);
      agreements.set(id, a);
    }

    const q = new Y.Map<unknown>();
    q.set('text', new Y.Text('Why?'));
    q.set('askedBy', A);
    q.set('askedAt', T0);
    q.set('status', 'answered');
    const answers = new Y.Array<Y.Map<unknown>>();
    const answer = new Y.Map<unknown>();
    answer.set('by', B);
    answer.set('at', T0 + 5);
    answer.set('text', new Y.Text('Because.'));
    answers.push([answer]);
    q.set('answers', answers);
    doc.getMap<Y.Map<unknown>>('questions').set(QUESTION, q);

    const checkins = doc.getMap<Y.Map<unknown>>('checkins');
    for (const [key, safety, at] of [
      ['randomcheckin0000001', 3, T0],
      ['randomcheckin0000002', 8, T0 + 100],
    ] as const) {
      const c = new Y.Map<unknown>();
      c.set('date', '2026-11-02');
      c.set('partnerId', A);
      c.set('safety', safety);
      c.set('state', 'calm');
      c.set('at', at);
      checkins.set(key, c);
    }
  });
  return doc;
}

describe('migration', () => {
  it('a document written by schema 0 opens after migration, with its content intact', () => {
    const doc = v0Document();
    expect(schemaVersionOf(doc)).toBe(0);
    let result: ReturnType<typeof migrate> | undefined;
    expect(originsOf(doc, () => (result = migrate(doc)))).toEqual([Origin.migrate]);
    expect(result).toEqual({ from: 0, to: SCHEMA_VERSION, migrated: true });

    expect(getSpace(doc)).toEqual({
      name: 'Old space',
      createdAt: T0,
      schemaVersion: SCHEMA_VERSION,
    });
    expect(listPartners(doc).map((p) => [p.id, p.displayName, p.role])).toEqual([
      [A, 'Alex', 'hurt'],
      [B, 'Sam', null],
    ]);
    expect(getAgreement(doc, ACTIVE)).toMatchObject({
      status: 'active',
      acceptedCurrentBy: [A, B],
    });
    // A v0 acceptance that was not tied to a wording is not counted for one.
    expect(getAgreement(doc, PROPOSED)).toMatchObject({ status: 'proposed', acceptances: [] });
    const q = getQuestion(doc, QUESTION)!;
    expect(q.status).toBe('answered');
    expect(q.thread).toEqual([
      expect.objectContaining({ kind: 'answer', by: B, text: 'Because.' }),
    ]);
    expect(q.thread[0]!.id).toMatch(ID_PATTERN);
    expect(listCheckins(doc)).toHaveLength(1);
    expect(getCheckin(doc, '2026-11-02', A)).toMatchObject({ safety: 8, updatedAt: T0 + 100 });
  });

  it('after migration every write works on the old content', () => {
    const doc = v0Document();
    migrate(doc);
    logKeep(doc, { agreementId: ACTIVE, partnerId: A, date: '2026-11-02', value: 'kept', at: T0 });
    acceptAgreement(doc, {
      agreementId: PROPOSED,
      partnerId: B,
      fingerprint: getAgreement(doc, PROPOSED)!.fingerprint,
      at: T0,
    });
    answerQuestion(doc, { questionId: QUESTION, text: 'More.', by: B, at: T0 + 9 });
    markQuestionRead(doc, { questionId: QUESTION, partnerId: A, at: T0 + 10 });
    expect(listAgreements(doc).map((a) => a.status)).toEqual(['active', 'proposed']);
    expect(getQuestion(doc, QUESTION)!.readUpTo[A]).toBe(2);
  });

  it('an old document has no shares or breaks, and its first share and break create them', () => {
    const doc = v0Document();
    migrate(doc);
    expect(listShares(doc)).toEqual([]);
    expect(listBreaks(doc)).toEqual([]);
    saveShare(doc, { partnerId: A, date: '2026-11-01', feelings: ['hopeful'], at: T0 });
    callBreak(doc, { by: B, minutes: 20, date: '2026-11-01', at: T0 });
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
    expect(listShares(copy).map((s) => [s.partnerId, s.feelings])).toEqual([[A, ['hopeful']]]);
    expect(listBreaks(copy).map((b) => [b.by, b.status])).toEqual([[B, 'open']]);
    // Nothing about them needs a new schema version: the old one stays, and migrate is a no-op.
    expect(schemaVersionOf(copy)).toBe(SCHEMA_VERSION);
    expect(migrate(copy).migrated).toBe(false);
  });

  it('two replicas migrating the same old document end with identical content', () => {
    const update = Y.encodeStateAsUpdate(v0Document());
    const one = new Y.Doc();
    const two = new Y.Doc();
    Y.applyUpdate(one, update);
    Y.applyUpdate(two, update);
    migrate(one);
    migrate(two);
    expect(one.toJSON()).toEqual(two.toJSON());
  });

  it('is idempotent on a current document and a no-op on an empty one', () => {
    const doc = twoPartnerSpace();
    expect(originsOf(doc, () => expect(migrate(doc).migrated).toBe(false))).toEqual([]);
    expect(schemaVersionOf(new Y.Doc())).toBeNull();
    expect(migrate(new Y.Doc()).migrated).toBe(false);
  });

  it('refuses a document from a newer schema', () => {
    const doc = twoPartnerSpace();
    doc.getMap('space').set('schemaVersion', SCHEMA_VERSION + 1);
    expect(codeOf(() => migrate(doc))).toBe(ModelErrorCode.schemaTooNew);
  });
});
