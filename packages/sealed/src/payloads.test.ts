import type { PartnerId } from '@mend/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SealedError, SealedErrorReason } from './errors.js';
import {
  decodeMemberPayload,
  decodeSnapshotPayload,
  encodeMemberPayload,
  encodeSnapshotPayload,
  type ChainHead,
} from './payloads.js';

const partnerId = 'partner_0123456789ab' as PartnerId;
const head = fc.record({
  author: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  stream: fc.integer({ min: 0, max: 0xffff_ffff }),
  counter: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});
const heads = fc.uniqueArray(head, { selector: (h) => h.stream, maxLength: 6 });

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof SealedError) return error.reason;
    throw error;
  }
  return 'no error';
}

describe('member payloads', () => {
  it('round-trip, and a cut or padded payload is malformed', () => {
    const payload = { partnerId, agreementKey: new Uint8Array(32).fill(9) };
    const bytes = encodeMemberPayload(payload);
    expect(decodeMemberPayload(bytes)).toEqual(payload);
    expect(reason(() => decodeMemberPayload(bytes.subarray(0, bytes.length - 1)))).toBe(
      SealedErrorReason.malformed,
    );
    expect(reason(() => decodeMemberPayload(Uint8Array.of(...bytes, 0)))).toBe(
      SealedErrorReason.malformed,
    );
  });

  it('refuses a partner id the model would not accept', () => {
    const bad = encodeMemberPayload({ partnerId, agreementKey: new Uint8Array(32) });
    bad[1] = '/'.charCodeAt(0);
    expect(reason(() => decodeMemberPayload(bad))).toBe(SealedErrorReason.malformed);
    expect(
      reason(() =>
        encodeMemberPayload({ partnerId: 'short' as PartnerId, agreementKey: new Uint8Array(32) }),
      ),
    ).toBe(SealedErrorReason.malformed);
  });
});

describe('snapshot payloads', () => {
  it('round-trip the document state, the chain heads and the members', () => {
    const members = fc.array(
      fc.record({
        device: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        partnerId: fc.constantFrom(partnerId, 'partner_b_0123456789ab' as PartnerId),
        agreementKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      }),
      { maxLength: 3 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), heads, members, (yjsState, hs, ms) => {
        const payload = { yjsState, heads: hs, members: ms };
        expect(decodeSnapshotPayload(encodeSnapshotPayload(payload))).toEqual(payload);
      }),
    );
  });

  it('never throw anything but a SealedError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        let thrown: unknown = null;
        try {
          decodeSnapshotPayload(bytes);
        } catch (error) {
          thrown = error;
        }
        expect(thrown === null || thrown instanceof SealedError).toBe(true);
      }),
    );
  });

  it('refuse two heads for one stream, and a head at counter 0', () => {
    const h: ChainHead = {
      author: new Uint8Array(32),
      stream: 5,
      counter: 1,
      hash: new Uint8Array(32),
    };
    expect(
      reason(() =>
        encodeSnapshotPayload({ yjsState: new Uint8Array(), heads: [h, h], members: [] }),
      ),
    ).toBe(SealedErrorReason.malformed);
    expect(
      reason(() =>
        encodeSnapshotPayload({
          yjsState: new Uint8Array(),
          heads: [{ ...h, counter: 0 }],
          members: [],
        }),
      ),
    ).toBe(SealedErrorReason.malformed);
  });
});
