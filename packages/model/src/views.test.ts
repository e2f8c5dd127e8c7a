import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { editAgreement, logKeep, proposeAgreement } from './agreements.js';
import { acknowledgeBoundary, addBoundary, getBoundary } from './boundaries.js';
import { checkIn } from './checkins.js';
import { ModelErrorCode } from './errors.js';
import type { AgreementId, PartnerId } from './ids.js';
import { addFollowUp, answerQuestion, askQuestion, markQuestionRead } from './questions.js';
import { A, B, T0, acceptCurrent, codeOf, twoPartnerSpace } from './testing/fixtures.js';
import { agreementChanges, checkinSeries, keepRate, todayFor } from './views.js';

function activeAgreement(
  doc: Y.Doc,
  title = 'Daily walk',
  body = 'We walk together.',
): AgreementId {
  const id = proposeAgreement(doc, { title, body, by: A, at: T0 });
  for (const partnerId of [A, B]) acceptCurrent(doc, id, partnerId, T0);
  return id;
}

describe('today for a partner', () => {
  it('collects the check-in, agreements to log and review, waiting and unread questions, boundaries', () => {
    const doc = twoPartnerSpace();
    const logged = activeAgreement(doc, 'Logged');
    const unlogged = activeAgreement(doc, 'Unlogged');
    const proposed = proposeAgreement(doc, { title: 'New', body: '', by: A, at: T0 });
    logKeep(doc, { agreementId: logged, partnerId: B, date: '2026-11-02', value: 'kept', at: T0 });
    checkIn(doc, { partnerId: B, date: '2026-11-02', safety: 4, state: 'alert', at: T0 });
    const open = askQuestion(doc, { text: 'Why?', by: A, at: T0 });
    const answered = askQuestion(doc, { text: 'When?', by: A, at: T0 + 1 });
    answerQuestion(doc, { questionId: answered, text: 'Then.', by: B, at: T0 + 2 });
    addFollowUp(doc, { questionId: answered, text: 'Sure?', by: A, at: T0 + 3 });
    const mine = askQuestion(doc, { text: 'Can we talk?', by: B, at: T0 + 4 });
    markQuestionRead(doc, { questionId: open, partnerId: B, at: T0 + 5 });
    const boundary = addBoundary(doc, { text: 'Knock first.', owner: A, at: T0 });

    const today = todayFor(doc, { partnerId: B, date: '2026-11-02' });
    expect(today.checkin).toMatchObject({ safety: 4 });
    expect(today.agreementsToLog).toEqual([unlogged]);
    expect(today.agreementsToReview).toEqual([proposed]);
    expect(today.questionsWaiting).toEqual([open, answered]);
    expect(today.unreadQuestions).toEqual([answered]);
    expect(today.unreadItems).toBe(1);
    expect(today.boundariesToAcknowledge).toEqual([boundary]);

    const forA = todayFor(doc, { partnerId: A, date: '2026-11-02' });
    expect(forA.checkin).toBeNull();
    expect(forA.questionsWaiting).toEqual([mine]);
    expect(forA.boundariesToAcknowledge).toEqual([]);
    acknowledgeBoundary(doc, {
      boundaryId: boundary,
      by: B,
      fingerprint: getBoundary(doc, boundary)!.fingerprint,
      at: T0,
    });
    expect(todayFor(doc, { partnerId: B, date: '2026-11-02' }).boundariesToAcknowledge).toEqual([]);
  });

  it('refuses an unknown partner and a malformed date', () => {
    const doc = twoPartnerSpace();
    expect(
      codeOf(() =>
        todayFor(doc, { partnerId: 'nobodyNOBODYnobody' as PartnerId, date: '2026-11-02' }),
      ),
    ).toBe(ModelErrorCode.notFound);
    expect(codeOf(() => todayFor(doc, { partnerId: A, date: 'today' }))).toBe(
      ModelErrorCode.invalidArgument,
    );
  });
});

describe('keep rate', () => {
  it('counts the current value per day, ignores not-applicable days, and reports unlogged days', () => {
    const doc = twoPartnerSpace();
    const id = activeAgreement(doc);
    const log = (date: string, partnerId: PartnerId, value: 'kept' | 'missed' | 'not-applicable') =>
      logKeep(doc, { agreementId: id, partnerId, date, value, at: T0 });
    log('2026-11-01', A, 'kept');
    log('2026-11-02', A, 'missed');
    log('2026-11-02', A, 'kept'); // corrected: counts once, as kept
    log('2026-11-03', A, 'not-applicable');
    log('2026-11-03', B, 'missed');
    log('2026-10-31', A, 'missed'); // outside the window
    expect(
      keepRate(doc, { agreementId: id, partnerId: A, from: '2026-11-01', to: '2026-11-04' }),
    ).toEqual({
      kept: 2,
      missed: 0,
      notApplicable: 1,
      unlogged: 1,
      rate: 1,
    });
    expect(keepRate(doc, { agreementId: id, from: '2026-11-01', to: '2026-11-04' })).toEqual({
      kept: 2,
      missed: 1,
      notApplicable: 1,
      unlogged: 4,
      rate: 2 / 3,
    });
  });

  it('has no rate when nothing countable was logged', () => {
    const doc = twoPartnerSpace();
    const id = activeAgreement(doc);
    expect(
      keepRate(doc, { agreementId: id, from: '2026-11-01', to: '2026-11-01' }).rate,
    ).toBeNull();
  });

  it('refuses a window over ten years or with a bad date', () => {
    const doc = twoPartnerSpace();
    const id = activeAgreement(doc);
    expect(
      codeOf(() => keepRate(doc, { agreementId: id, from: '2000-01-01', to: '2026-01-01' })),
    ).toBe(ModelErrorCode.invalidArgument);
    expect(
      codeOf(() => keepRate(doc, { agreementId: id, from: '2026-02-29', to: '2026-03-01' })),
    ).toBe(ModelErrorCode.invalidArgument);
  });
});

describe('check-in series', () => {
  it('returns one partner’s check-ins in date order within the window', () => {
    const doc = twoPartnerSpace();
    checkIn(doc, { partnerId: A, date: '2026-11-03', safety: 7, state: 'calm', at: T0 });
    checkIn(doc, { partnerId: A, date: '2026-11-01', safety: 2, state: 'freeze', at: T0 });
    checkIn(doc, { partnerId: B, date: '2026-11-02', safety: 5, state: 'alert', at: T0 });
    checkIn(doc, { partnerId: A, date: '2026-12-01', safety: 9, state: 'calm', at: T0 });
    expect(checkinSeries(doc, { partnerId: A, to: '2026-11-30' })).toEqual([
      { date: '2026-11-01', safety: 2, state: 'freeze' },
      { date: '2026-11-03', safety: 7, state: 'calm' },
    ]);
  });
});

describe('changes between wordings', () => {
  it('compares the last wording both accepted with the current text by default', () => {
    const doc = twoPartnerSpace();
    const id = activeAgreement(doc, 'Walk', 'We walk every day.');
    editAgreement(doc, { agreementId: id, body: 'We walk every other day.', by: A, at: T0 + 1 });
    const change = agreementChanges(doc, { agreementId: id })!;
    expect(change.before.body).toBe('We walk every day.');
    expect(change.after.body).toBe('We walk every other day.');
    expect(change.body).toContainEqual({ kind: 'added', text: 'other ' });
  });

  it('is null before anything was accepted by both, and refuses an unknown fingerprint', () => {
    const doc = twoPartnerSpace();
    const id = proposeAgreement(doc, { title: 'T', body: 'b', by: A, at: T0 });
    expect(agreementChanges(doc, { agreementId: id })).toBeNull();
    expect(codeOf(() => agreementChanges(doc, { agreementId: id, from: 'nope' }))).toBe(
      ModelErrorCode.notFound,
    );
  });
});
