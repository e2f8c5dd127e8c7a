import { describe, expect, it } from 'vitest';
import {
  acceptAgreement,
  agreementStatus,
  agreementTexts,
  editAgreement,
  getAgreement,
  keepLog,
  listAgreements,
  logKeep,
  proposeAgreement,
  setAgreementLifecycle,
} from './agreements.js';
import { ModelErrorCode } from './errors.js';
import { Limits } from './schema.js';
import { wordingFingerprint } from './fingerprint.js';
import type { AgreementId, PartnerId } from './ids.js';
import { Origin } from './origin.js';
import {
  A,
  B,
  T0,
  acceptCurrent,
  codeOf,
  counterIds,
  originsOf,
  replicaOf,
  sync,
  twoPartnerSpace,
  updatesDuring,
} from './testing/fixtures.js';
import type * as Y from 'yjs';

function propose(doc: Y.Doc, title = 'No contact with X', body = 'I will not contact X.') {
  return proposeAgreement(doc, { title, body, by: A, at: T0 }, counterIds('agreement'));
}

describe('proposing and editing agreements', () => {
  it('a proposed agreement records who proposed it and when, with live title and body texts', () => {
    const doc = twoPartnerSpace();
    let id = '' as AgreementId;
    const origins = originsOf(doc, () => (id = propose(doc)));
    expect(origins).toEqual([Origin.proposeAgreement]);
    const a = getAgreement(doc, id)!;
    expect(a).toMatchObject({
      id,
      title: 'No contact with X',
      body: 'I will not contact X.',
      createdBy: A,
      proposedBy: A,
      createdAt: T0,
      lifecycle: 'open',
      status: 'proposed',
      acceptances: [],
      history: [],
    });
    expect(agreementTexts(doc, id).title.toString()).toBe('No contact with X');
  });

  it('ids are random and URL-safe when none is given', () => {
    const doc = twoPartnerSpace();
    const id = proposeAgreement(doc, { title: 't', body: '', by: A, at: T0 });
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('proposing refuses an empty title, an unknown partner, a duplicate id, and writes nothing', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    const ok = { title: 't', body: 'b', by: A, at: T0 };
    expect(codeOf(() => proposeAgreement(doc, { ...ok, title: ' ' }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(
      codeOf(() => proposeAgreement(doc, { ...ok, title: 'x'.repeat(Limits.agreementTitle + 1) })),
    ).toBe(ModelErrorCode.invalidArgument);
    expect(
      codeOf(() => proposeAgreement(doc, { ...ok, by: 'nobodyNOBODYnobody' as PartnerId })),
    ).toBe(ModelErrorCode.notFound);
    expect(codeOf(() => proposeAgreement(doc, { ...ok, id }))).toBe(ModelErrorCode.duplicateId);
    expect(updatesDuring(doc, () => proposeAgreement(doc, { ...ok, id }))).toHaveLength(0);
    expect(listAgreements(doc)).toHaveLength(1);
  });

  it('a generator that repeats an id is refused instead of overwriting an agreement', () => {
    const doc = twoPartnerSpace();
    const same = () => 'sameSAMEsameSAME';
    proposeAgreement(doc, { title: 'first', body: '', by: A, at: T0 }, same);
    expect(
      codeOf(() => proposeAgreement(doc, { title: 'second', body: '', by: A, at: T0 }, same)),
    ).toBe(ModelErrorCode.duplicateId);
    expect(listAgreements(doc).map((a) => a.title)).toEqual(['first']);
  });

  it('editAgreement replaces only the changed middle, so a concurrent edit elsewhere survives', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc, 'Title', 'one two three');
    const other = replicaOf(doc);
    editAgreement(doc, { agreementId: id, body: 'one 2 three', by: A, at: T0 + 1 });
    editAgreement(other, { agreementId: id, body: 'one two three four', by: B, at: T0 + 1 });
    sync(doc, other);
    expect(getAgreement(doc, id)!.body).toBe('one 2 three four');
    expect(getAgreement(other, id)!.body).toBe('one 2 three four');
  });

  it('editAgreement records who edited last and handles emoji without splitting them', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc, 'T', 'a 😀 b');
    editAgreement(doc, { agreementId: id, body: 'a 😃 b', by: B, at: T0 + 5 });
    const a = getAgreement(doc, id)!;
    expect(a.body).toBe('a 😃 b');
    expect(a.lastEditedBy).toBe(B);
    expect(a.lastEditedAt).toBe(T0 + 5);
  });

  it('editAgreement refuses an unknown agreement', () => {
    const doc = twoPartnerSpace();
    expect(
      codeOf(() =>
        editAgreement(doc, {
          agreementId: 'missingMISSINGmissing' as AgreementId,
          body: 'x',
          by: A,
          at: T0,
        }),
      ),
    ).toBe(ModelErrorCode.notFound);
  });
});

describe('accepting a wording', () => {
  it('becomes active once both partners accept the current wording', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    acceptCurrent(doc, id, A);
    expect(agreementStatus(doc, id)).toBe('proposed');
    const origins = originsOf(doc, () => acceptCurrent(doc, id, B, T0 + 20));
    expect(origins).toEqual([Origin.acceptAgreement]);
    const a = getAgreement(doc, id)!;
    expect(a.status).toBe('active');
    expect(a.acceptedCurrentBy).toEqual([A, B]);
    expect(a.history.map((h) => [h.acceptedBy, h.at, h.title, h.body])).toEqual([
      [A, T0 + 10, 'No contact with X', 'I will not contact X.'],
      [B, T0 + 20, 'No contact with X', 'I will not contact X.'],
    ]);
  });

  it('an edit after acceptance turns an active agreement into changed until both accept again', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    acceptCurrent(doc, id, A);
    acceptCurrent(doc, id, B);
    agreementTexts(doc, id).body.insert(0, 'Truly: ');
    expect(agreementStatus(doc, id)).toBe('changed');
    acceptCurrent(doc, id, A);
    expect(agreementStatus(doc, id)).toBe('changed');
    acceptCurrent(doc, id, B);
    expect(agreementStatus(doc, id)).toBe('active');
  });

  it('an edit after both accepted is a proposed change: the accepted wording stays in force until both accept the change', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    expect(getAgreement(doc, id)!.inForce).toBeNull();
    acceptCurrent(doc, id, A);
    acceptCurrent(doc, id, B);
    const agreed = { title: 'No contact with X', body: 'I will not contact X.' };
    expect(getAgreement(doc, id)!.inForce).toMatchObject(agreed);

    editAgreement(doc, {
      agreementId: id,
      body: 'I will not contact X, ever.',
      by: A,
      at: T0 + 30,
    });
    let a = getAgreement(doc, id)!;
    expect(a.body).toBe('I will not contact X, ever.');
    expect(a.inForce).toMatchObject(agreed);
    acceptCurrent(doc, id, A, T0 + 40);
    expect(getAgreement(doc, id)!.inForce).toMatchObject(agreed);

    acceptCurrent(doc, id, B, T0 + 50);
    a = getAgreement(doc, id)!;
    expect(a.inForce).toEqual({
      title: 'No contact with X',
      body: 'I will not contact X, ever.',
      fingerprint: a.fingerprint,
    });
    // The history keeps both wordings.
    expect(a.history.map((h) => h.body)).toEqual([
      'I will not contact X.',
      'I will not contact X.',
      'I will not contact X, ever.',
      'I will not contact X, ever.',
    ]);
  });

  it('accepting a wording the partner was not shown is refused as stale', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    const seen = getAgreement(doc, id)!.fingerprint;
    editAgreement(doc, { agreementId: id, title: 'Changed', by: A, at: T0 + 1 });
    expect(
      codeOf(() =>
        acceptAgreement(doc, { agreementId: id, partnerId: B, fingerprint: seen, at: T0 + 2 }),
      ),
    ).toBe(ModelErrorCode.staleWording);
    expect(getAgreement(doc, id)!.acceptances).toEqual([]);
  });

  it('an acceptance made concurrently with an edit does not count for the edited wording', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    acceptCurrent(doc, id, A);
    const other = replicaOf(doc);
    acceptCurrent(other, id, B);
    editAgreement(doc, { agreementId: id, body: 'Something else.', by: A, at: T0 + 30 });
    sync(doc, other);
    const a = getAgreement(doc, id)!;
    // Both accepted the first wording, so the edit shows as a change neither has accepted yet.
    expect(a.status).toBe('changed');
    expect(a.acceptedCurrentBy).toEqual([]);
    expect(getAgreement(other, id)).toEqual(a);
  });

  it('the fingerprint separates title from body', () => {
    expect(wordingFingerprint('ab', 'c')).not.toBe(wordingFingerprint('a', 'bc'));
    expect(wordingFingerprint('a', 'b')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('with only one partner in the space nothing can be active', () => {
    const doc = twoPartnerSpace({ secondPartner: false });
    const id = propose(doc);
    acceptCurrent(doc, id, A);
    expect(agreementStatus(doc, id)).toBe('proposed');
  });
});

describe('pausing and retiring', () => {
  it('paused and retired are explicit and override the derived status; open resumes it', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    acceptCurrent(doc, id, A);
    acceptCurrent(doc, id, B);
    const origins = originsOf(doc, () =>
      setAgreementLifecycle(doc, { agreementId: id, lifecycle: 'paused', by: B, at: T0 + 50 }),
    );
    expect(origins).toEqual([Origin.setAgreementLifecycle]);
    expect(getAgreement(doc, id)).toMatchObject({
      status: 'paused',
      lifecycleChangedBy: B,
      lifecycleChangedAt: T0 + 50,
    });
    setAgreementLifecycle(doc, { agreementId: id, lifecycle: 'retired', by: B, at: T0 + 60 });
    expect(agreementStatus(doc, id)).toBe('retired');
    setAgreementLifecycle(doc, { agreementId: id, lifecycle: 'open', by: A, at: T0 + 70 });
    expect(agreementStatus(doc, id)).toBe('active');
  });

  it('a retired agreement cannot be accepted, and an unknown lifecycle is refused', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    setAgreementLifecycle(doc, { agreementId: id, lifecycle: 'retired', by: A, at: T0 });
    expect(codeOf(() => acceptCurrent(doc, id, B))).toBe(ModelErrorCode.notAllowed);
    expect(
      codeOf(() =>
        setAgreementLifecycle(doc, { agreementId: id, lifecycle: 'gone' as 'open', by: A, at: T0 }),
      ),
    ).toBe(ModelErrorCode.invalidArgument);
  });
});

describe('the daily keep log', () => {
  it('logs a day and a correction keeps the earlier value visible', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    const ids = counterIds('keepentry');
    const origins = originsOf(doc, () =>
      logKeep(
        doc,
        { agreementId: id, partnerId: A, date: '2026-11-02', value: 'missed', at: T0 },
        ids,
      ),
    );
    expect(origins).toEqual([Origin.logKeep]);
    logKeep(
      doc,
      {
        agreementId: id,
        partnerId: A,
        date: '2026-11-02',
        value: 'kept',
        note: 'I misclicked',
        at: T0 + 1,
      },
      ids,
    );
    const [day] = keepLog(doc, { agreementId: id });
    expect(day!.current).toMatchObject({ value: 'kept', note: 'I misclicked', at: T0 + 1 });
    expect(day!.earlier.map((e) => e.value)).toEqual(['missed']);
  });

  it('rows are one per (date, partner), sorted, and can be filtered by partner and window', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    for (const [date, partnerId] of [
      ['2026-11-03', B],
      ['2026-11-01', A],
      ['2026-11-03', A],
    ] as const) {
      logKeep(doc, { agreementId: id, partnerId, date, value: 'kept', at: T0 });
    }
    expect(keepLog(doc, { agreementId: id }).map((r) => [r.date, r.partnerId])).toEqual([
      ['2026-11-01', A],
      ['2026-11-03', A],
      ['2026-11-03', B],
    ]);
    expect(keepLog(doc, { agreementId: id, partnerId: B })).toHaveLength(1);
    expect(keepLog(doc, { agreementId: id, from: '2026-11-02', to: '2026-11-03' })).toHaveLength(2);
  });

  it('refuses an impossible date, an unknown value and a long note', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    const ok = {
      agreementId: id,
      partnerId: A,
      date: '2026-11-02',
      value: 'kept' as const,
      at: T0,
    };
    expect(codeOf(() => logKeep(doc, { ...ok, date: '2026-02-30' }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(codeOf(() => logKeep(doc, { ...ok, date: '2026-1-2' }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(codeOf(() => logKeep(doc, { ...ok, value: 'sort-of' as 'kept' }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(codeOf(() => logKeep(doc, { ...ok, note: 'x'.repeat(Limits.note + 1) }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(keepLog(doc, { agreementId: id })).toEqual([]);
  });

  it('two devices logging the same day concurrently both keep their entry; one is current on both', () => {
    const doc = twoPartnerSpace();
    const id = propose(doc);
    const other = replicaOf(doc);
    logKeep(doc, { agreementId: id, partnerId: A, date: '2026-11-02', value: 'kept', at: T0 });
    logKeep(other, { agreementId: id, partnerId: A, date: '2026-11-02', value: 'missed', at: T0 });
    sync(doc, other);
    const rows = keepLog(doc, { agreementId: id });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.earlier).toHaveLength(1);
    expect(keepLog(other, { agreementId: id })).toEqual(rows);
  });
});
