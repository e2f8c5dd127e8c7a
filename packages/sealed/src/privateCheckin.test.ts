import {
  addPartner,
  checkIn,
  getCheckin,
  initSpace,
  listCheckins,
  type IsoDate,
  type PartnerId,
} from '@mend/model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { fromBase64Url, toBase64Url } from './bytes.js';
import { sha256 } from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import { PAD_BLOCK } from './padding.js';
import {
  keepCheckinPrivate,
  openPrivateCheckin,
  privateCheckinKey,
  readOwnCheckin,
  sealPrivateCheckin,
  type PrivateCheckinIds,
} from './privateCheckin.js';
import { newSeatSecret, type SeatSecret } from './reveal.js';
import { fixedRandom, toHex, withRandomSource } from './testkit.js';

const fill = (byte: number, n = 32) => new Uint8Array(n).fill(byte);
const SPACE = 'space_0123456789abcdef';
const A = 'partnerAAAAAAAAAAAAA' as PartnerId;
const B = 'partnerBBBBBBBBBBBBB' as PartnerId;
const DAY = '2026-11-02' as IsoDate;
const ids: PrivateCheckinIds = { spaceId: SPACE, partnerId: A, date: DAY };
const seat = fill(0x5a) as SeatSecret;
const NOTE = 'I could not sleep. 🌱';
const whole = { scope: 'checkin', safety: 3, state: 'freeze', note: NOTE } as const;

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof SealedError ? error.reason : `not a SealedError: ${String(error)}`;
  }
  return 'no error';
}

describe('private check-in vectors', () => {
  // Computed independently by test-vectors/crosscheck.py (Python hmac/hashlib, `cryptography`).
  it('the key and the sealed check-in follow from the seat secret, the ids and the day', () => {
    expect(toHex(privateCheckinKey(seat, ids))).toBe(
      'c9fa6a38b8e36c1499d86b49fb7267be1d7c6ee55f80693d330e20509983e96c',
    );
    const sealed = withRandomSource(fixedRandom(fill(0x7e, 24)), () =>
      sealPrivateCheckin(seat, ids, whole),
    );
    const bytes = fromBase64Url(sealed);
    expect(bytes.length).toBe(296);
    expect(toHex(sha256(bytes))).toBe(
      'dd2eb1e4765144d46d28e3fe44dd9206145257326d1cb77311cd267279dc08b9',
    );
    expect(toHex(bytes.subarray(-32))).toBe(
      'ca97bb52258907e7a32929032198f5ca7fedbdd70312b242d3b5009e79879c18',
    );
    expect(openPrivateCheckin(seat, ids, 'checkin', sealed)).toEqual(whole);
  });

  it('the key is the same on each of the author’s devices and differs per space and partner', () => {
    const again = privateCheckinKey(fill(0x5a) as SeatSecret, { ...ids, date: '2026-12-24' });
    expect(again).toEqual(privateCheckinKey(seat, ids));
    expect(privateCheckinKey(seat, { ...ids, partnerId: B })).not.toEqual(again);
    expect(privateCheckinKey(seat, { ...ids, spaceId: 'space_fedcba9876543210' })).not.toEqual(
      again,
    );
  });
});

describe('sealed check-ins', () => {
  const sealed = sealPrivateCheckin(seat, ids, whole);

  it('opens a note, and a whole check-in, with any text, on the author’s seat', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.integer({ min: 0, max: 10 }),
        (note, safety) => {
          const n = sealPrivateCheckin(seat, ids, { scope: 'note', note });
          expect(openPrivateCheckin(seat, ids, 'note', n)).toEqual({ scope: 'note', note });
          const w = { scope: 'checkin', safety, state: 'calm', note } as const;
          expect(
            openPrivateCheckin(seat, ids, 'checkin', sealPrivateCheckin(seat, ids, w)),
          ).toEqual(w);
        },
      ),
    );
  });

  it('does not open with another seat: the other partner’s device holds only ciphertext', () => {
    expect(reasonOf(() => openPrivateCheckin(newSeatSecret(), ids, 'checkin', sealed))).toBe(
      SealedErrorReason.badCiphertext,
    );
  });

  it.each([
    ['day', { date: '2026-11-03' }],
    ['author', { partnerId: B }],
    ['space', { spaceId: 'space_fedcba9876543210' }],
  ])('refuses it read as if of another %s', (_, change) => {
    expect(reasonOf(() => openPrivateCheckin(seat, { ...ids, ...change }, 'checkin', sealed))).toBe(
      SealedErrorReason.badCiphertext,
    );
  });

  it('refuses a whole check-in read as a note, and a note as a whole check-in', () => {
    const note = sealPrivateCheckin(seat, ids, { scope: 'note', note: NOTE });
    expect(reasonOf(() => openPrivateCheckin(seat, ids, 'note', sealed))).toBe(
      SealedErrorReason.badCiphertext,
    );
    expect(reasonOf(() => openPrivateCheckin(seat, ids, 'checkin', note))).toBe(
      SealedErrorReason.badCiphertext,
    );
  });

  it('refuses any flipped bit, a cut, text that is not base64url, a bad seat and bad ids', () => {
    const bytes = fromBase64Url(sealed);
    fc.assert(
      fc.property(fc.nat({ max: bytes.length * 8 - 1 }), (bit) => {
        const changed = bytes.slice();
        changed[bit >> 3]! ^= 1 << (bit & 7);
        expect(reasonOf(() => openPrivateCheckin(seat, ids, 'checkin', toBase64Url(changed)))).toBe(
          SealedErrorReason.badCiphertext,
        );
      }),
      { numRuns: 200 },
    );
    expect(
      reasonOf(() => openPrivateCheckin(seat, ids, 'checkin', toBase64Url(bytes.subarray(0, 200)))),
    ).toBe(SealedErrorReason.malformed);
    expect(reasonOf(() => openPrivateCheckin(seat, ids, 'checkin', 'not base64url!'))).toBe(
      SealedErrorReason.malformed,
    );
    expect(reasonOf(() => openPrivateCheckin(fill(1, 16) as SeatSecret, ids, 'note', sealed))).toBe(
      SealedErrorReason.badKey,
    );
    expect(reasonOf(() => privateCheckinKey(seat, { ...ids, date: '2026-02-30' as IsoDate }))).toBe(
      SealedErrorReason.malformed,
    );
    expect(reasonOf(() => privateCheckinKey(seat, { ...ids, spaceId: 'a/b' }))).toBe(
      SealedErrorReason.malformed,
    );
  });

  it('pads, so the length shows only which block a note falls in', () => {
    const lengths = ['', 'a', 'x'.repeat(PAD_BLOCK - 1), 'x'.repeat(PAD_BLOCK)].map(
      (note) => fromBase64Url(sealPrivateCheckin(seat, ids, { scope: 'note', note })).length - 40,
    );
    expect(lengths).toEqual([PAD_BLOCK, PAD_BLOCK, PAD_BLOCK, 2 * PAD_BLOCK]);
  });

  it('refuses to seal what the model would refuse in an open check-in', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return 'sealed';
    };
    expect(
      code(() => sealPrivateCheckin(seat, ids, { scope: 'note', note: 'x'.repeat(2001) })),
    ).toBe('invalid-argument');
    expect(code(() => sealPrivateCheckin(seat, ids, { ...whole, safety: 11 }))).toBe(
      'invalid-argument',
    );
    expect(code(() => sealPrivateCheckin(seat, ids, { ...whole, state: 'panic' as 'calm' }))).toBe(
      'invalid-argument',
    );
  });
});

describe('a private check-in between two partners', () => {
  function space() {
    const doc = new Y.Doc();
    initSpace(doc, { name: 'Us', createdAt: 1 });
    addPartner(doc, { id: A, displayName: 'Alex', joinedAt: 1, color: '#aa3355' });
    addPartner(doc, { id: B, displayName: 'Sam', joinedAt: 2, color: '#3355aa' });
    return doc;
  }
  const seats = { A: newSeatSecret(), B: newSeatSecret() };

  it('Alex keeps a day whole to themselves: Sam’s copy holds no safety, state or note, and Alex reads all of it', () => {
    const doc = space();
    checkIn(doc, { partnerId: A, date: DAY, safety: 6, state: 'alert', note: 'shared', at: 5 });
    const sam = new Y.Doc();
    Y.applyUpdate(sam, Y.encodeStateAsUpdate(doc));
    const sent: Uint8Array[] = [];
    doc.on('update', (u: Uint8Array) => sent.push(u));
    keepCheckinPrivate(doc, {
      seatSecret: seats.A,
      spaceId: SPACE,
      partnerId: A,
      date: DAY,
      safety: 2,
      state: 'freeze',
      note: NOTE,
      scope: 'checkin',
      at: 10,
    });
    for (const u of sent) Y.applyUpdate(sam, u);
    const text = new TextDecoder().decode(Y.encodeStateAsUpdate(sam));
    expect(text).not.toContain('I could not sleep');
    expect(text).not.toContain('freeze');
    const seen = getCheckin(sam, DAY, A)!;
    expect(seen).toMatchObject({ private: 'checkin' });
    expect(seen).not.toHaveProperty('safety');
    expect(readOwnCheckin(seats.A, SPACE, seen)).toEqual({
      safety: 2,
      state: 'freeze',
      note: NOTE,
      private: 'checkin',
    });
    expect(reasonOf(() => readOwnCheckin(seats.B, SPACE, seen))).toBe(
      SealedErrorReason.badCiphertext,
    );
  });

  it('Sam keeps only the note: Alex sees safety and state, Sam reads the note back', () => {
    const doc = space();
    keepCheckinPrivate(doc, {
      seatSecret: seats.B,
      spaceId: SPACE,
      partnerId: B,
      date: DAY,
      safety: 7,
      state: 'calm',
      note: NOTE,
      scope: 'note',
      at: 10,
    });
    const [seen] = listCheckins(doc);
    expect(seen).toMatchObject({ safety: 7, state: 'calm', note: '', private: 'note' });
    expect(new TextDecoder().decode(Y.encodeStateAsUpdate(doc))).not.toContain('sleep');
    expect(readOwnCheckin(seats.B, SPACE, seen!)).toEqual({
      safety: 7,
      state: 'calm',
      note: NOTE,
      private: 'note',
    });
    // An open check-in reads as it is, without a seat's help.
    checkIn(doc, { partnerId: A, date: DAY, safety: 5, state: 'alert', note: 'ok', at: 11 });
    expect(readOwnCheckin(seats.A, SPACE, getCheckin(doc, DAY, A)!)).toEqual({
      safety: 5,
      state: 'alert',
      note: 'ok',
      private: null,
    });
  });
});
