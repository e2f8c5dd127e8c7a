import type { PartnerId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { SealedErrorReason } from '../errors.js';
import { newDeviceIdentity } from '../identity.js';
import { newInviteSecret } from '../invite.js';
import { newSeatSecret } from '../reveal.js';
import { newSpaceKey } from '../SpaceKeyring.js';
import { decodeSealingRecord, encodeSealingRecord, type SealingRecord } from './sealingRecord.js';

const record = (): SealingRecord => ({
  identity: newDeviceIdentity(),
  pending: {
    partnerId: 'partnerAAAAAAAAAAAAA' as PartnerId,
    stream: 0xffff_ffff,
    spaceKey: newSpaceKey(),
    seatSecret: newSeatSecret(),
    inviteSecret: newInviteSecret(),
  },
});

const text = (r: SealingRecord) => JSON.parse(new TextDecoder().decode(encodeSealingRecord(r)));
const bytesOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('the sealing record', () => {
  it('reads back what it stored, with or without a conversion under way', () => {
    const r = record();
    expect(decodeSealingRecord(encodeSealingRecord(r))).toEqual(r);
    const idle = { identity: r.identity, pending: null };
    expect(decodeSealingRecord(encodeSealingRecord(idle))).toEqual(idle);
  });

  it('refuses anything else as malformed, never as another kind of error', () => {
    const stored = text(record());
    const broken: unknown[] = [
      { ...stored, v: 2 },
      { ...stored, pending: { ...stored.pending, partnerId: 'x' } },
      { ...stored, pending: { ...stored.pending, stream: -1 } },
      { ...stored, pending: { ...stored.pending, stream: 2 ** 32 } },
      { ...stored, pending: { ...stored.pending, spaceKey: stored.pending.spaceKey.slice(2) } },
      { ...stored, pending: { ...stored.pending, seatSecret: 7 } },
      { ...stored, identity: { ...stored.identity, signingSecret: 'AAAA' } },
      { ...stored, pending: 'soon' },
      [],
    ];
    for (const value of broken) {
      expect(() => decodeSealingRecord(bytesOf(value))).toThrow(
        expect.objectContaining({ reason: SealedErrorReason.malformed }),
      );
    }
    expect(() => decodeSealingRecord(Uint8Array.of(0xff, 0xfe))).toThrow(
      expect.objectContaining({ reason: SealedErrorReason.malformed }),
    );
  });
});
