import {
  addPartner,
  answerKeyCommitment,
  getReveal,
  initSpace,
  openReveal,
  type AnswerId,
  type PartnerId,
  type RevealId,
} from '@mend/model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { sha256 } from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import {
  PAD_BLOCK,
  answerReveal,
  newSeatSecret,
  openRevealAnswer,
  openRevealAnswers,
  publishDueAnswerKeys,
  revealAnswerCommitment,
  revealAnswerKey,
  sealRevealAnswer,
  type RevealAnswerIds,
  type SeatSecret,
} from './reveal.js';
import { fixedRandom, toHex, withRandomSource } from './testkit.js';

const fill = (byte: number, n = 32) => new Uint8Array(n).fill(byte);
const SPACE = 'space_0123456789abcdef';
const A = 'partnerAAAAAAAAAAAAA' as PartnerId;
const B = 'partnerBBBBBBBBBBBBB' as PartnerId;
const ids: RevealAnswerIds = {
  spaceId: SPACE,
  revealId: 'reveal_0123456789abc' as RevealId,
  answerId: 'answer_0123456789abc' as AnswerId,
  partnerId: A,
};
const seat = fill(0x5a) as SeatSecret;
const TEXT = 'I needed you to stay and talk. 🌱';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof SealedError ? error.reason : `not a SealedError: ${String(error)}`;
  }
  return 'no error';
}

describe('reveal vectors', () => {
  // Computed independently by test-vectors/crosscheck.py (Python hmac/hashlib, `cryptography`).
  it('the key, its commitment and the sealed answer follow from the seat secret and the ids', () => {
    const key = revealAnswerKey(seat, ids);
    expect(toHex(key)).toBe('241f3037d110bdeec251371e8e3a1d0eb0ead3d2f4442cda97d508dc23e1f050');
    const sealed = withRandomSource(fixedRandom(fill(0x7e, 24)), () =>
      sealRevealAnswer(seat, ids, TEXT),
    );
    expect(toHex(sealed.commitment)).toBe(
      '2a7da84ee97e43d5ddc6fb609837253aa1c953b36bb10bb2dc2726e90766b7cd',
    );
    expect(sealed.sealed.length).toBe(296);
    expect(toHex(sha256(sealed.sealed))).toBe(
      '99fc755e111e6919a8a5a921acbbb0554e7ce46f148cb1d3573b10156b857fed',
    );
    expect(toHex(sealed.sealed.subarray(-32))).toBe(
      '8a974d040b659126a7d2413036508987e2dc693949c2e116f40f813a7dbfa81a',
    );
    expect(openRevealAnswer(key, ids, sealed.sealed, sealed.commitment)).toBe(TEXT);
  });

  it("the model's commitment check (lib0 SHA-256) agrees with crypto.ts's", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        expect(answerKeyCommitment(key)).toEqual(revealAnswerCommitment(key));
      }),
    );
  });
});

describe('sealed answers', () => {
  const sealed = sealRevealAnswer(seat, ids, TEXT);
  const key = revealAnswerKey(seat, ids);

  it('refuses a wrong key, as not the committed one, and a key that matches a forged commitment', () => {
    const other = revealAnswerKey(newSeatSecret(), ids);
    expect(reasonOf(() => openRevealAnswer(other, ids, sealed.sealed, sealed.commitment))).toBe(
      SealedErrorReason.badKey,
    );
    expect(
      reasonOf(() => openRevealAnswer(other, ids, sealed.sealed, revealAnswerCommitment(other))),
    ).toBe(SealedErrorReason.badCiphertext);
  });

  it.each([
    ['space', { spaceId: 'space_fedcba9876543210' }],
    ['reveal', { revealId: 'reveal_cba9876543210' as RevealId }],
    ['author', { partnerId: B }],
  ])('refuses the answer read as if from another %s', (_, change) => {
    expect(
      reasonOf(() =>
        openRevealAnswer(key, { ...ids, ...change }, sealed.sealed, sealed.commitment),
      ),
    ).toBe(SealedErrorReason.badCiphertext);
  });

  it('refuses another answer id: its key is another one', () => {
    const moved = { ...ids, answerId: 'answer_cba9876543210' as AnswerId };
    expect(reasonOf(() => openRevealAnswer(key, moved, sealed.sealed, sealed.commitment))).toBe(
      SealedErrorReason.badCiphertext,
    );
    expect(
      reasonOf(() =>
        openRevealAnswer(revealAnswerKey(seat, moved), moved, sealed.sealed, sealed.commitment),
      ),
    ).toBe(SealedErrorReason.badKey);
  });

  it('refuses any flipped bit, and a cut or non-id', () => {
    fc.assert(
      fc.property(fc.nat({ max: sealed.sealed.length * 8 - 1 }), (bit) => {
        const changed = sealed.sealed.slice();
        changed[bit >> 3]! ^= 1 << (bit & 7);
        expect(reasonOf(() => openRevealAnswer(key, ids, changed, sealed.commitment))).toBe(
          SealedErrorReason.badCiphertext,
        );
      }),
    );
    expect(
      reasonOf(() => openRevealAnswer(key, ids, sealed.sealed.subarray(0, 100), sealed.commitment)),
    ).toBe(SealedErrorReason.malformed);
    expect(reasonOf(() => revealAnswerKey(seat, { ...ids, revealId: 'a/b' as RevealId }))).toBe(
      SealedErrorReason.malformed,
    );
  });

  it('pads every answer to a multiple of the block, so its length shows little', () => {
    const sizes = ['', 'a', 'x'.repeat(PAD_BLOCK - 1), 'x'.repeat(PAD_BLOCK)].map(
      (t) => sealRevealAnswer(seat, ids, t || ' ok').sealed.length - 40,
    );
    expect(sizes).toEqual([PAD_BLOCK, PAD_BLOCK, PAD_BLOCK, 2 * PAD_BLOCK]);
    const long = '🌱'.repeat(20_000);
    expect(
      openRevealAnswer(key, ids, sealRevealAnswer(seat, ids, long).sealed, sealed.commitment),
    ).toBe(long);
  });
});

describe('a reveal between two partners', () => {
  function space() {
    const doc = new Y.Doc();
    initSpace(doc, { name: 'Us', createdAt: 1 });
    addPartner(doc, { id: A, displayName: 'Alex', joinedAt: 1, color: '#aa3355' });
    addPartner(doc, { id: B, displayName: 'Sam', joinedAt: 2, color: '#3355aa' });
    const revealId = openReveal(doc, { prompt: 'What did you need?', createdBy: A, at: 3 }).id;
    return { doc, revealId };
  }

  it("hides each answer from the other until both answered, then both devices publish and both open; Sam's device cannot read Alex's early", () => {
    const { doc, revealId } = space();
    const seats = { A: newSeatSecret(), B: newSeatSecret() };
    answerReveal(doc, {
      seatSecret: seats.A,
      spaceId: SPACE,
      revealId,
      partnerId: A,
      text: 'You.',
      at: 10,
    });
    // Sam's device: sees only that Alex answered; Alex's own device reads it back.
    expect(getReveal(doc, revealId)!.partners.map((p) => p.status)).toEqual([
      'answered',
      'not-answered',
    ]);
    expect(openRevealAnswers(doc, { spaceId: SPACE, revealId })).toEqual(new Map());
    expect(
      openRevealAnswers(doc, {
        spaceId: SPACE,
        revealId,
        own: { partnerId: B, seatSecret: seats.B },
      }),
    ).toEqual(new Map());
    expect(
      openRevealAnswers(doc, {
        spaceId: SPACE,
        revealId,
        own: { partnerId: A, seatSecret: seats.A },
      }),
    ).toEqual(new Map([[A, 'You.']]));
    // Nothing due before Sam answers.
    expect(
      publishDueAnswerKeys(doc, { seatSecret: seats.A, spaceId: SPACE, partnerId: A, at: 11 }),
    ).toEqual([]);
    answerReveal(doc, {
      seatSecret: seats.B,
      spaceId: SPACE,
      revealId,
      partnerId: B,
      text: 'Time.',
      at: 20,
    });
    // A device with the wrong seat publishes nothing; the right ones publish once.
    expect(
      publishDueAnswerKeys(doc, { seatSecret: seats.B, spaceId: SPACE, partnerId: A, at: 21 }),
    ).toEqual([]);
    expect(
      publishDueAnswerKeys(doc, { seatSecret: seats.B, spaceId: SPACE, partnerId: B, at: 21 }),
    ).toEqual([revealId]);
    expect(
      publishDueAnswerKeys(doc, { seatSecret: seats.A, spaceId: SPACE, partnerId: A, at: 22 }),
    ).toEqual([revealId]);
    expect(
      publishDueAnswerKeys(doc, { seatSecret: seats.A, spaceId: SPACE, partnerId: A, at: 23 }),
    ).toEqual([]);
    expect(getReveal(doc, revealId)!.revealed).toBe(true);
    expect(openRevealAnswers(doc, { spaceId: SPACE, revealId })).toEqual(
      new Map([
        [A, 'You.'],
        [B, 'Time.'],
      ]),
    );
  });
});
