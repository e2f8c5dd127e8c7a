// The README's example, run as written (with fixed times), so the documentation cannot drift.
import { expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  ModelError,
  acceptAgreement,
  addPartner,
  answerQuestion,
  askQuestion,
  checkIn,
  getAgreement,
  initSpace,
  keepRate,
  logKeep,
  migrate,
  proposeAgreement,
  setPartnerRole,
  todayFor,
  type PartnerId,
} from './index.js';

it('the README example runs and does what it says', () => {
  const now = () => Date.UTC(2026, 10, 26, 20);
  const doc = new Y.Doc();
  initSpace(doc, { name: 'Our space', createdAt: now() });
  const alex = addPartner(doc, {
    id: 'p_alex_0123456789abc' as PartnerId,
    displayName: 'Alex',
    joinedAt: now(),
    color: '#aa3355',
  }).id;
  const sam = addPartner(doc, {
    id: 'p_sam_00123456789abc' as PartnerId,
    displayName: 'Sam',
    joinedAt: now(),
    color: '#3355aa',
  }).id;

  setPartnerRole(doc, { partnerId: alex, role: 'hurt' });
  const id = proposeAgreement(doc, {
    title: 'No contact',
    body: 'I will not contact X.',
    by: sam,
    at: now(),
  });
  for (const partnerId of [alex, sam]) {
    acceptAgreement(doc, {
      agreementId: id,
      partnerId,
      fingerprint: getAgreement(doc, id)!.fingerprint,
      at: now(),
    });
  }
  expect(getAgreement(doc, id)!.status).toBe('active');
  logKeep(doc, { agreementId: id, partnerId: sam, date: '2026-11-26', value: 'kept', at: now() });
  expect(
    keepRate(doc, { agreementId: id, partnerId: sam, from: '2026-11-01', to: '2026-11-30' }).rate,
  ).toBe(1);
  const q = askQuestion(doc, { text: 'Where were you?', by: alex, at: now() });
  answerQuestion(doc, { questionId: q, text: 'At work.', by: sam, at: now() });
  checkIn(doc, { partnerId: alex, date: '2026-11-26', safety: 6, state: 'alert', at: now() });
  expect(todayFor(doc, { partnerId: alex, date: '2026-11-26' })).toMatchObject({
    checkin: { safety: 6 },
    agreementsToLog: [id],
    unreadQuestions: [q],
  });

  let code: string | undefined;
  try {
    checkIn(doc, { partnerId: alex, date: '2026-02-30', safety: 6, state: 'calm', at: now() });
  } catch (error) {
    if (error instanceof ModelError) code = error.code;
  }
  expect(code).toBe('invalid-argument');
  expect(migrate(doc).migrated).toBe(false);
});
