// Test support only (excluded from the build): hidden answers as a partner's devices would make
// them, without the cryptography (@mend/sealed makes real ones; the model sees only bytes).
import { digest } from 'lib0/hash/sha256';
import * as string from 'lib0/string';
import type { AnswerId, PartnerId, RevealId } from '../ids.js';
import { answerKeyCommitment } from '../revealBytes.js';

export interface TestAnswer {
  readonly answerId: AnswerId;
  readonly sealed: Uint8Array;
  readonly commitment: Uint8Array;
  readonly key: Uint8Array;
}

/**
 * The answer `partnerId` gives to a reveal: its key follows from the reveal and the partner, as
 * a real one follows from the partner's seat secret, so each of their devices derives the same.
 */
export function testAnswer(
  revealId: RevealId,
  partnerId: PartnerId,
  words = 'my answer',
): TestAnswer {
  const key = new Uint8Array(digest(string.encodeUtf8(`key/${revealId}/${partnerId}`)));
  const sealed = new Uint8Array(24 + 16 + 512);
  sealed.set(digest(string.encodeUtf8(`sealed/${revealId}/${partnerId}/${words}`)));
  return {
    answerId: `answer-${partnerId}`.slice(0, 64) as AnswerId,
    sealed,
    commitment: answerKeyCommitment(key),
    key,
  };
}
