import {
  addPartner,
  answerKeyCommitment,
  initSpace,
  publishAnswerKey,
  submitHiddenAnswer,
  type AnswerId,
  type PartnerId,
  type RevealId,
} from '@mend/model';
import * as Y from 'yjs';

/*
 * For unit tests only: a space of two partners, and their answers to reveals as the model holds
 * them. The model checks only the shape of a sealed answer; what it hides is @mend/sealed's concern.
 */

export const ALEX = 'partnerAAAAAAAAAAAAA' as PartnerId;
export const SAM = 'partnerBBBBBBBBBBBBB' as PartnerId;

export function pairSpace(at: number): Y.Doc {
  const doc = new Y.Doc();
  initSpace(doc, { name: 'Ours', createdAt: at });
  addPartner(doc, { id: ALEX, displayName: 'Alex', joinedAt: at, color: '#aa3355' });
  addPartner(doc, { id: SAM, displayName: 'Sam', joinedAt: at, color: '#3355aa' });
  return doc;
}

const keyOf = (by: PartnerId) => new Uint8Array(32).fill(by === ALEX ? 1 : 2);

export function answerHidden(doc: Y.Doc, revealId: RevealId, by: PartnerId, at: number): void {
  submitHiddenAnswer(doc, {
    revealId,
    partnerId: by,
    answerId: `answer_${by}` as AnswerId,
    sealed: new Uint8Array(24 + 256 + 16).fill(7),
    commitment: answerKeyCommitment(keyOf(by)),
    at,
  });
}

export function publishKey(doc: Y.Doc, revealId: RevealId, by: PartnerId, at: number): void {
  publishAnswerKey(doc, { revealId, partnerId: by, key: keyOf(by), at });
}
