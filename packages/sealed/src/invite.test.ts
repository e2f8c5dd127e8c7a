import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SealedError, SealedErrorReason } from './errors.js';
import { newDeviceIdentity } from './identity.js';
import {
  decodeWelcomePayload,
  encodeWelcomePayload,
  inviteCodeFor,
  inviteSecretText,
  newInviteSecret,
  openWelcome,
  parseInviteSecret,
  sealWelcome,
  type WelcomePayload,
} from './invite.js';
import { newSpaceKey } from './SpaceKeyring.js';

function welcome(): WelcomePayload {
  const creator = newDeviceIdentity();
  return {
    epoch: 1,
    spaceKey: newSpaceKey(),
    creatorSigningKey: creator.signing.publicKey,
    creatorAgreementKey: creator.agreement.publicKey,
  };
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof SealedError) return error.reason;
    throw error;
  }
  return 'no error';
}

describe('the invite secret and its code', () => {
  it('the code is 22 base64url characters, the same for the same secret, different for another', () => {
    const secret = newInviteSecret();
    const code = inviteCodeFor(secret);
    expect(code).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(inviteCodeFor(parseInviteSecret(inviteSecretText(secret)))).toBe(code);
    expect(inviteCodeFor(newInviteSecret())).not.toBe(code);
  });

  it('the secret reads back from its link text, and nothing else reads as a secret', () => {
    const secret = newInviteSecret();
    const text = inviteSecretText(secret);
    expect(text).toHaveLength(43);
    expect(parseInviteSecret(text)).toEqual(secret);
    for (const bad of [
      '',
      text.slice(1),
      `${text}A`,
      `${text.slice(0, 42)}=`,
      `${text.slice(0, 42)}+`,
    ]) {
      expect(reason(() => parseInviteSecret(bad))).toBe(SealedErrorReason.malformed);
    }
    // 43 characters hold 258 bits: the last character's 2 spare bits must be zero, so each
    // secret has exactly one spelling.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const spare = alphabet[(alphabet.indexOf(text.at(-1)!) & ~3) | 1]!;
    expect(reason(() => parseInviteSecret(text.slice(0, 42) + spare))).toBe(
      SealedErrorReason.malformed,
    );
  });
});

describe('the welcome box', () => {
  it('opens with the invite secret and gives back the payload', () => {
    const secret = newInviteSecret();
    const payload = welcome();
    expect(openWelcome(secret, sealWelcome(secret, payload))).toEqual(payload);
  });

  it('does not open with another secret, or once changed anywhere', () => {
    const secret = newInviteSecret();
    const box = sealWelcome(secret, welcome());
    expect(reason(() => openWelcome(newInviteSecret(), box))).toBe(SealedErrorReason.badCiphertext);
    fc.assert(
      fc.property(fc.nat({ max: box.length * 8 - 1 }), (bit) => {
        const changed = box.slice();
        changed[bit >> 3]! ^= 1 << (bit & 7);
        expect(reason(() => openWelcome(secret, changed))).toBe(SealedErrorReason.badCiphertext);
      }),
    );
    expect(reason(() => openWelcome(secret, box.subarray(0, 30)))).toBe(
      SealedErrorReason.badCiphertext,
    );
  });

  it('the payload codec round-trips and refuses other versions, lengths and epochs', () => {
    const payload = welcome();
    const bytes = encodeWelcomePayload(payload);
    expect(decodeWelcomePayload(bytes)).toEqual(payload);
    expect(bytes).toHaveLength(1 + 1 + 96);
    expect(reason(() => decodeWelcomePayload(Uint8Array.of(2, ...bytes.subarray(1))))).toBe(
      SealedErrorReason.malformed,
    );
    expect(reason(() => decodeWelcomePayload(bytes.subarray(0, 97)))).toBe(
      SealedErrorReason.malformed,
    );
    expect(reason(() => decodeWelcomePayload(Uint8Array.of(...bytes, 0)))).toBe(
      SealedErrorReason.malformed,
    );
    expect(reason(() => decodeWelcomePayload(Uint8Array.of(1, 0, ...bytes.subarray(2))))).toBe(
      SealedErrorReason.malformed,
    );
    expect(reason(() => encodeWelcomePayload({ ...payload, epoch: 0 }))).toBe(
      SealedErrorReason.malformed,
    );
  });
});
