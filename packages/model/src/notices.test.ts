import { describe, expect, it } from 'vitest';
import { getAgreement, proposeAgreement, setAgreementLifecycle } from './agreements.js';
import { ModelErrorCode } from './errors.js';
import { changesToSee, markChangeSeen } from './notices.js';
import { Origin } from './origin.js';
import { askQuestion, closeQuestion, getQuestion, reopenQuestion } from './questions.js';
import { A, B, T0, acceptCurrent, codeOf, originsOf, twoPartnerSpace } from './testing/fixtures.js';
import { todayFor } from './views.js';

function activeAgreement(doc: ReturnType<typeof twoPartnerSpace>) {
  const id = proposeAgreement(doc, { title: 'Phones on the table', body: '', by: A, at: T0 });
  acceptCurrent(doc, id, A);
  acceptCurrent(doc, id, B);
  return id;
}

describe('a change one partner makes to a shared thing', () => {
  it('retiring records who, when and why, and the other partner sees it until marked seen', () => {
    const doc = twoPartnerSpace();
    const id = activeAgreement(doc);
    setAgreementLifecycle(doc, {
      agreementId: id,
      lifecycle: 'retired',
      reason: '  we replaced it ',
      by: B,
      at: T0 + 50,
    });
    expect(getAgreement(doc, id)).toMatchObject({
      lifecycleChangedBy: B,
      lifecycleChangedAt: T0 + 50,
      lifecycleReason: 'we replaced it',
    });
    const [change, ...rest] = changesToSee(doc, A);
    expect(rest).toEqual([]);
    expect(change).toEqual({
      kind: 'agreement',
      agreementId: id,
      title: 'Phones on the table',
      lifecycle: 'retired',
      by: B,
      at: T0 + 50,
      reason: 'we replaced it',
    });
    expect(todayFor(doc, { partnerId: A, date: '2026-11-02' }).changesToSee).toEqual([change]);
    // The one who made the change is not told about it.
    expect(changesToSee(doc, B)).toEqual([]);
    expect(markChangeSeen(doc, { change: change!, partnerId: B })).toBe(false);

    expect(originsOf(doc, () => markChangeSeen(doc, { change: change!, partnerId: A }))).toEqual([
      Origin.markChangeSeen,
    ]);
    expect(changesToSee(doc, A)).toEqual([]);
    expect(markChangeSeen(doc, { change: change!, partnerId: A })).toBe(false);

    // A later change shows again, and a change without a reason drops the earlier one.
    setAgreementLifecycle(doc, { agreementId: id, lifecycle: 'open', by: B, at: T0 + 60 });
    expect(getAgreement(doc, id)?.lifecycleReason).toBeNull();
    expect(changesToSee(doc, A)).toMatchObject([{ lifecycle: 'open', reason: null }]);
  });

  it('closing a question records why; the asker sees who closed it; reopening clears it', () => {
    const doc = twoPartnerSpace();
    const q = askQuestion(doc, { text: 'Where were you?', by: A, at: T0 });
    closeQuestion(doc, { questionId: q, by: B, at: T0 + 5, reason: 'We talked it through.' });
    expect(getQuestion(doc, q)).toMatchObject({
      status: 'closed',
      closedBy: B,
      closedAt: T0 + 5,
      closedReason: 'We talked it through.',
    });
    expect(changesToSee(doc, A)).toEqual([
      {
        kind: 'question',
        questionId: q,
        text: 'Where were you?',
        by: B,
        at: T0 + 5,
        reason: 'We talked it through.',
      },
    ]);
    reopenQuestion(doc, { questionId: q, by: A, at: T0 + 6 });
    expect(getQuestion(doc, q)?.closedReason).toBeNull();
    expect(changesToSee(doc, A)).toEqual([]);
  });

  it('a reason longer than a note is refused and nothing is written', () => {
    const doc = twoPartnerSpace();
    const id = activeAgreement(doc);
    const q = askQuestion(doc, { text: 'Why?', by: A, at: T0 });
    const long = 'x'.repeat(2001);
    expect(
      codeOf(() =>
        setAgreementLifecycle(doc, {
          agreementId: id,
          lifecycle: 'paused',
          reason: long,
          by: A,
          at: T0,
        }),
      ),
    ).toBe(ModelErrorCode.invalidArgument);
    expect(codeOf(() => closeQuestion(doc, { questionId: q, by: B, at: T0, reason: long }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(getAgreement(doc, id)?.lifecycle).toBe('open');
    expect(getQuestion(doc, q)?.status).toBe('open');
  });
});
