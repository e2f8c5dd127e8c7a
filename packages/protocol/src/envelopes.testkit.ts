/**
 * Envelopes for the protocol's tests (never built into dist): a header with every field set,
 * and an envelope around it with fixed nonce, ciphertext and signature bytes.
 */
import fc from 'fast-check';
import type { SpaceId } from './ids.js';
import {
  encodeEnvelope,
  encodeEnvelopeHeader,
  encodeSignedPart,
  EnvelopeKind,
  type EnvelopeHeader,
} from './sealedEnvelope.js';

export const spaceId = 'space_0123456789abcdef' as SpaceId;
export const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

export function header(overrides: Partial<EnvelopeHeader> = {}): EnvelopeHeader {
  return {
    version: 1,
    kind: EnvelopeKind.update,
    spaceId,
    epoch: 1,
    author: bytes(32, 7),
    stream: 123456,
    counter: 2,
    prev: bytes(32, 9),
    covers: null,
    ...overrides,
  };
}

export function envelopeOf(h: EnvelopeHeader, ciphertext = bytes(40, 3)): Uint8Array {
  const signed = encodeSignedPart(encodeEnvelopeHeader(h), bytes(24, 5), ciphertext);
  return encodeEnvelope(signed, bytes(64, 8));
}

/** Bytes a hostile or broken peer might send instead of `raw`: random, or `raw` with a byte changed. */
export function garbled(raw: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.nat({ max: raw.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
      const copy = raw.slice();
      copy[i]! ^= x;
      return copy;
    }),
  );
}
