import type { PartnerId } from '@mend/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SealedError, SealedErrorReason } from './errors.js';
import { hex, toHex } from './testkit.js';
import * as encoding from 'lib0/encoding';
import {
  decodeEpochPayload,
  decodeLinkPayload,
  decodeMemberPayload,
  decodeRecoveryLinkPayload,
  decodeReturnPayload,
  encodeEpochPayload,
  encodeRecoveryLinkPayload,
  encodeReturnPayload,
  decodeSnapshotPayload,
  encodeLinkPayload,
  encodeMemberPayload,
  encodeSnapshotPayload,
  keysStatementOf,
  KeysStatement,
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

describe('link payloads', () => {
  it('round-trip as a keys statement of type 1, and a cut or padded one is malformed', () => {
    const payload = {
      partnerId,
      signingKey: new Uint8Array(32).fill(7),
      agreementKey: new Uint8Array(32).fill(8),
    };
    const bytes = encodeLinkPayload(payload);
    expect(bytes[0]).toBe(1);
    expect(keysStatementOf(bytes)).toBe(KeysStatement.link);
    expect(decodeLinkPayload(bytes)).toEqual(payload);
    expect(reason(() => decodeLinkPayload(bytes.subarray(0, bytes.length - 1)))).toBe(
      SealedErrorReason.malformed,
    );
    expect(reason(() => decodeLinkPayload(Uint8Array.of(...bytes, 0)))).toBe(
      SealedErrorReason.malformed,
    );
  });

  it('tell a statement of another type apart, and refuse keys of the wrong size', () => {
    const bytes = encodeLinkPayload({
      partnerId,
      signingKey: new Uint8Array(32),
      agreementKey: new Uint8Array(32),
    });
    bytes[0] = 9;
    expect(keysStatementOf(bytes)).toBeNull();
    expect(keysStatementOf(new Uint8Array())).toBeNull();
    expect(reason(() => decodeLinkPayload(bytes))).toBe(SealedErrorReason.malformed);
    expect(
      reason(() =>
        encodeLinkPayload({
          partnerId,
          signingKey: new Uint8Array(31),
          agreementKey: new Uint8Array(32),
        }),
      ),
    ).toBe(SealedErrorReason.malformed);
  });
});

const member = fc.record({
  device: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  partnerId: fc.constantFrom(partnerId, 'partner_b_0123456789ab' as PartnerId),
  agreementKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  seq: fc.option(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), { nil: null }),
});
const link = fc.record({
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  envelope: fc.uint8Array({ maxLength: 80 }),
});

describe('snapshot payloads', () => {
  it('round-trip the document state, the chain heads, the members with their seqs and the links', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        heads,
        fc.array(member, { maxLength: 3 }),
        fc.array(link, { minLength: 1, maxLength: 3 }),
        (yjsState, hs, ms, ls) => {
          const payload = { yjsState, heads: hs, members: ms, links: ls };
          expect(decodeSnapshotPayload(encodeSnapshotPayload(payload))).toEqual(payload);
        },
      ),
    );
  });

  it('without links keep the layout of before, which an earlier version reads, member seqs unknown', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 50 }),
        heads,
        fc.array(member, { maxLength: 3 }),
        (y, hs, ms) => {
          const bytes = encodeSnapshotPayload({ yjsState: y, heads: hs, members: ms, links: [] });
          // The layout before links, written out by hand.
          const e = encoding.createEncoder();
          encoding.writeVarUint8Array(e, y);
          encoding.writeVarUint(e, hs.length);
          for (const h of hs) {
            encoding.writeUint8Array(e, h.author);
            encoding.writeVarUint(e, h.stream);
            encoding.writeVarUint(e, h.counter);
            encoding.writeUint8Array(e, h.hash);
          }
          encoding.writeVarUint(e, ms.length);
          for (const m of ms) {
            encoding.writeUint8Array(e, m.device);
            encoding.writeUint8Array(e, encodeMemberPayload(m));
          }
          expect(bytes).toEqual(encoding.toUint8Array(e));
          const read = decodeSnapshotPayload(bytes);
          expect(read.links).toEqual([]);
          expect(read.members.map((m) => m.seq)).toEqual(ms.map(() => null));
        },
      ),
    );
  });

  it('refuse member seqs that do not match the members, and an empty list of links', () => {
    const ms = [
      { device: new Uint8Array(32), partnerId, agreementKey: new Uint8Array(32), seq: 1 },
    ];
    const bytes = encodeSnapshotPayload({
      yjsState: new Uint8Array(),
      heads: [],
      members: ms,
      links: [{ seq: 2, envelope: new Uint8Array(3) }],
    });
    const before = encodeSnapshotPayload({
      yjsState: new Uint8Array(),
      heads: [],
      members: ms,
      links: [],
    });
    const tail = bytes.subarray(before.length);
    expect([...tail.subarray(0, 3)]).toEqual([1, 1, 1]); // one member seq, seq 1, one link
    const wrongCount = Uint8Array.of(...before, 2, 1, 1, ...tail.subarray(2));
    expect(reason(() => decodeSnapshotPayload(wrongCount))).toBe(SealedErrorReason.malformed);
    const noLinks = Uint8Array.of(...before, 1, 1, 0);
    expect(reason(() => decodeSnapshotPayload(noLinks))).toBe(SealedErrorReason.malformed);
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
        encodeSnapshotPayload({
          yjsState: new Uint8Array(),
          heads: [h, h],
          members: [],
          links: [],
        }),
      ),
    ).toBe(SealedErrorReason.malformed);
    expect(
      reason(() =>
        encodeSnapshotPayload({
          yjsState: new Uint8Array(),
          heads: [{ ...h, counter: 0 }],
          members: [],
          links: [],
        }),
      ),
    ).toBe(SealedErrorReason.malformed);
  });
});

describe('recovery link payloads', () => {
  const payload = {
    partnerId,
    signingKey: new Uint8Array(32).fill(0x11),
    agreementKey: new Uint8Array(32).fill(0x22),
  };

  it('are a link payload under type 3 (known answer)', () => {
    const bytes = encodeRecoveryLinkPayload(payload);
    expect(toHex(bytes)).toBe(
      '03' + '14' + toHex(new TextEncoder().encode(partnerId)) + '11'.repeat(32) + '22'.repeat(32),
    );
    expect(keysStatementOf(bytes)).toBe(KeysStatement.recoveryLink);
    expect(decodeRecoveryLinkPayload(bytes)).toEqual(payload);
  });

  it('are not taken for a link, nor a link for one', () => {
    expect(reason(() => decodeLinkPayload(encodeRecoveryLinkPayload(payload)))).toBe(
      SealedErrorReason.malformed,
    );
    expect(reason(() => decodeRecoveryLinkPayload(encodeLinkPayload(payload)))).toBe(
      SealedErrorReason.malformed,
    );
  });
});

describe('return payloads', () => {
  const payload = {
    partnerId,
    signingKey: new Uint8Array(32).fill(0x33),
    agreementKey: new Uint8Array(32).fill(0x44),
  };

  it('are a link payload under type 4 (known answer)', () => {
    const bytes = encodeReturnPayload(payload);
    expect(toHex(bytes)).toBe(
      '04' + '14' + toHex(new TextEncoder().encode(partnerId)) + '33'.repeat(32) + '44'.repeat(32),
    );
    expect(keysStatementOf(bytes)).toBe(KeysStatement.return);
    expect(decodeReturnPayload(bytes)).toEqual(payload);
    expect(reason(() => decodeReturnPayload(bytes.subarray(0, bytes.length - 1)))).toBe(
      SealedErrorReason.malformed,
    );
  });

  it('are not taken for a link or a recovery link, nor either for one', () => {
    for (const other of [encodeLinkPayload(payload), encodeRecoveryLinkPayload(payload)]) {
      expect(reason(() => decodeReturnPayload(other))).toBe(SealedErrorReason.malformed);
    }
    const bytes = encodeReturnPayload(payload);
    expect(reason(() => decodeLinkPayload(bytes))).toBe(SealedErrorReason.malformed);
    expect(reason(() => decodeRecoveryLinkPayload(bytes))).toBe(SealedErrorReason.malformed);
  });
});

describe('epoch payloads', () => {
  const statement = {
    epoch: 3,
    removed: [new Uint8Array(32).fill(0xaa)],
    boxes: [
      { signingKey: new Uint8Array(32).fill(0x01), box: Uint8Array.of(5, 6, 7) },
      { signingKey: new Uint8Array(32).fill(0x02), box: Uint8Array.of(8) },
    ],
  };

  it('encode type 2, the epoch, the removed devices and each box (known answer)', () => {
    const bytes = encodeEpochPayload(statement);
    expect(toHex(bytes)).toBe(
      '02' +
        '03' +
        '01' +
        'aa'.repeat(32) +
        '02' +
        '01'.repeat(32) +
        '03050607' +
        '02'.repeat(32) +
        '0108',
    );
    expect(keysStatementOf(bytes)).toBe(KeysStatement.epoch);
    expect(decodeEpochPayload(bytes)).toEqual(statement);
  });

  it('reads a rotation alone (nobody removed)', () => {
    const rotation = { ...statement, removed: [] };
    expect(decodeEpochPayload(hex(toHex(encodeEpochPayload(rotation))))).toEqual(rotation);
  });

  it('refuses what no statement can be: epoch 1, no box, a device twice, cut or padded', () => {
    const bytes = encodeEpochPayload(statement);
    const malformed = SealedErrorReason.malformed;
    expect(reason(() => encodeEpochPayload({ ...statement, epoch: 1 }))).toBe(malformed);
    expect(reason(() => encodeEpochPayload({ ...statement, boxes: [] }))).toBe(malformed);
    expect(
      reason(() =>
        encodeEpochPayload({
          ...statement,
          removed: [statement.removed[0]!, statement.removed[0]!],
        }),
      ),
    ).toBe(malformed);
    const twice = [statement.boxes[0]!, statement.boxes[0]!];
    expect(reason(() => encodeEpochPayload({ ...statement, boxes: twice }))).toBe(malformed);
    expect(reason(() => decodeEpochPayload(bytes.subarray(0, bytes.length - 1)))).toBe(malformed);
    expect(reason(() => decodeEpochPayload(Uint8Array.of(...bytes, 0)))).toBe(malformed);
    // A count far past what follows is refused before anything is read.
    expect(reason(() => decodeEpochPayload(Uint8Array.of(2, 3, 0xff, 0xff, 0x7f)))).toBe(malformed);
    expect(
      reason(() =>
        decodeEpochPayload(
          encodeLinkPayload({
            partnerId,
            signingKey: new Uint8Array(32),
            agreementKey: new Uint8Array(32),
          }),
        ),
      ),
    ).toBe(malformed);
  });

  it('never throws anything but a SealedError on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeEpochPayload(Uint8Array.of(2, ...bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(SealedError);
        }
      }),
    );
  });
});
