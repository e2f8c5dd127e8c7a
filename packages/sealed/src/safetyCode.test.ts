import { ID_PATTERN } from '@mend/model';
import type { SpaceId } from '@mend/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SealedError } from './errors.js';
import { safetyCode } from './safetyCode.js';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const spaceId = fc.stringMatching(ID_PATTERN).map((s) => s as SpaceId);

describe('the safety code', () => {
  it('is two groups of five digits, the same whichever partner computes it', () => {
    fc.assert(
      fc.property(spaceId, key, key, (space, a, b) => {
        const code = safetyCode(space, a, b);
        expect(code).toMatch(/^\d{5} \d{5}$/);
        expect(safetyCode(space, b, a)).toBe(code);
      }),
    );
  });

  it('differs when either key or the space differs', () => {
    fc.assert(
      fc.property(spaceId, key, key, fc.nat({ max: 255 }), (space, a, b, bit) => {
        const code = safetyCode(space, a, b);
        const flip = (k: Uint8Array) => {
          const changed = k.slice();
          changed[bit >> 3]! ^= 1 << (bit & 7);
          return changed;
        };
        // Ten digits: a chance collision is a 1-in-10^10 event, never met at these run counts.
        expect(safetyCode(space, flip(a), b)).not.toBe(code);
        expect(safetyCode(space, a, flip(b))).not.toBe(code);
        expect(safetyCode(`${space}x` as SpaceId, a, b)).not.toBe(code);
      }),
    );
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() =>
      safetyCode('space_0123456789abcdef' as SpaceId, new Uint8Array(31), new Uint8Array(32)),
    ).toThrow(SealedError);
  });
});
