import type { SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { recoveryMessage, verifyRecoveryProof } from './recoveryProof.js';

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

/**
 * A known answer: the Ed25519 key of the seed 01 02 … 20 (hex) signing the recovery message of
 * space `AAAAAAAAAAAAAAAAAAAAAA` and challenge `BBBBBBBBBBBBBBBBBBBBBB`. A device that signs the
 * same message with the same seed must produce exactly this signature (Ed25519 is deterministic).
 */
const vector = {
  spaceId: 'AAAAAAAAAAAAAAAAAAAAAA' as SpaceId,
  challenge: 'BBBBBBBBBBBBBBBBBBBBBB',
  signingKey: hex('79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664'),
  signature: hex(
    '1efaabaff50c44f7ef8e4694e4a61dd02b8610c4343b52c05fb3135d6f934dd4' +
      'af42d329df402c65829d672f283ccc485bb4ec2e1d2f8edd39c0a729396b6c03',
  ),
};

/** The order of Ed25519's base point, little-endian: S + L is the same S, not canonical. */
const L = hex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');

function addL(signature: Uint8Array): Uint8Array {
  const out = new Uint8Array(signature);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const sum = (out[32 + i] ?? 0) + (L[i] ?? 0) + carry;
    out[32 + i] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
}

describe('the recovery proof', () => {
  it('signs the UTF-8 of the context, the space id and the challenge, separated by NUL', () => {
    expect(Buffer.from(recoveryMessage(vector.spaceId, vector.challenge)).toString('utf8')).toBe(
      'mend/v1/recover\0AAAAAAAAAAAAAAAAAAAAAA\0BBBBBBBBBBBBBBBBBBBBBB',
    );
  });

  it('accepts the known answer', () => {
    const { signingKey, spaceId, challenge, signature } = vector;
    expect(verifyRecoveryProof(signingKey, spaceId, challenge, signature)).toBe(true);
  });

  it('refuses it for another space, another challenge, a changed bit or another key', () => {
    const { signingKey, spaceId, challenge, signature } = vector;
    const other = 'CCCCCCCCCCCCCCCCCCCCCC';
    expect(verifyRecoveryProof(signingKey, other as SpaceId, challenge, signature)).toBe(false);
    expect(verifyRecoveryProof(signingKey, spaceId, other, signature)).toBe(false);
    const flipped = new Uint8Array(signature);
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    expect(verifyRecoveryProof(signingKey, spaceId, challenge, flipped)).toBe(false);
    const otherKey = hex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c');
    expect(verifyRecoveryProof(otherKey, spaceId, challenge, signature)).toBe(false);
  });

  it('verifies strictly: no non-canonical S, no small-order key, no odd lengths, never a throw', () => {
    const { signingKey, spaceId, challenge, signature } = vector;
    expect(verifyRecoveryProof(signingKey, spaceId, challenge, addL(signature))).toBe(false);
    // The identity point: a key every signature with R = identity and S = 0 would satisfy.
    const identity = hex('0100000000000000000000000000000000000000000000000000000000000000');
    const forged = new Uint8Array(64);
    forged.set(identity, 0);
    expect(verifyRecoveryProof(identity, spaceId, challenge, forged)).toBe(false);
    expect(verifyRecoveryProof(signingKey.slice(1), spaceId, challenge, signature)).toBe(false);
    expect(verifyRecoveryProof(signingKey, spaceId, challenge, signature.slice(1))).toBe(false);
    expect(verifyRecoveryProof(new Uint8Array(32).fill(0xff), spaceId, challenge, signature)).toBe(
      false,
    );
  });
});
