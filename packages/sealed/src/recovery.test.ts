import type { SpaceId } from '@mend/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SealedError, SealedErrorReason } from './errors.js';
import { newDeviceIdentity } from './identity.js';
import {
  checkedRecoveryCode,
  deriveRecoveryDevice,
  formatRecoveryCode,
  newRecoveryCode,
  parseRecoveryCode,
  parseRecoveryFragment,
  recoveryAddress,
  recoveryDeviceFrom,
  recoveryKey,
  recoveryKitLink,
  recoverySignature,
  verifyRecoverySignature,
  type RecoveryCode,
} from './recovery.js';
import { hex, toHex } from './testkit.js';

const spaceId = 'space_0123456789abcdef' as SpaceId;
const otherSpaceId = 'space_fedcba9876543210' as SpaceId;
/** The known-answer code: its 20 bytes as they are, for the derivation's vectors. */
const CODE = hex('c0de5eed0123456789abcdeffedcba9876543210') as RecoveryCode;
const CODE_TEXT = 'R3F5-XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CGG';
/**
 * The same code with its check in the last 10 bits (…3387), as a person writes it; checked in
 * Python: sha256(b"mend/v1/recovery-check\0" + code with those bits zero), first 10 bits.
 */
const CHECKED = hex('c0de5eed0123456789abcdeffedcba9876543387') as RecoveryCode;
const CHECKED_TEXT = 'R3F5-XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CW7';
const CHALLENGE = 'AAECAwQFBgcICQoLDA0ODw';

/** The SealedError `fn` throws: its reason and sentence. */
function refusal(fn: () => unknown): { reason: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof SealedError) return { reason: error.reason, message: error.message };
    throw error;
  }
  throw new Error('nothing was refused');
}

const codes = fc.uint8Array({ minLength: 20, maxLength: 20 }).map(checkedRecoveryCode);

describe('the recovery code', () => {
  it('is 20 fresh random bytes each time', () => {
    const a = newRecoveryCode();
    expect(a).toHaveLength(20);
    expect(toHex(newRecoveryCode())).not.toBe(toHex(a));
  });

  it('is written as eight groups of four Crockford base32 characters', () => {
    // Python: base64.b32encode(code) with RFC 4648's alphabet mapped onto Crockford's.
    expect(formatRecoveryCode(CODE)).toBe(CODE_TEXT);
    expect(formatRecoveryCode(new Uint8Array(20) as RecoveryCode)).toBe(
      '0000-0000-0000-0000-0000-0000-0000-0000',
    );
    expect(formatRecoveryCode(new Uint8Array(20).fill(0xff) as RecoveryCode)).toBe(
      'ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ',
    );
  });

  it('reads back what it wrote, and never writes I, L, O or U', () => {
    fc.assert(
      fc.property(codes, (code) => {
        const text = formatRecoveryCode(code);
        expect(text).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){7}$/);
        expect(parseRecoveryCode(text)).toEqual(code);
      }),
    );
  });

  it('reads a code typed without dashes, in any case, with spaces or line breaks', () => {
    expect(parseRecoveryCode('r3f5xv814d2pf2dbsqqzxq5tk1v58cw7')).toEqual(CHECKED);
    expect(parseRecoveryCode(' r3f5 XV81 4d2p-F2DB\nsqqz xq5t  K1V5 8cw7 ')).toEqual(CHECKED);
    expect(parseRecoveryCode('R3F5--XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CW7-')).toEqual(CHECKED);
  });

  it('reads I and L as 1 and O as 0, as a person might have written them', () => {
    expect(parseRecoveryCode('R3F5-XV8I-4D2P-F2DB-SQQZ-XQ5T-KlV5-8CW7')).toEqual(CHECKED);
    expect(parseRecoveryCode('oooo-OOOO-0000-0000-0000-0000-0000-00dh')).toEqual(
      checkedRecoveryCode(new Uint8Array(20)),
    );
  });

  it('refuses U and anything else outside the alphabet, naming the character as typed', () => {
    for (const [text, bad] of [
      ['R3F5-XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CGU', 'U'],
      ['R3F5-XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CGu', 'u'],
      ['R3F5-XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CGı', 'ı'],
      ['R3F5-XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CGß', 'ß'],
      ['R3F5-XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CG*', '*'],
      ['R3F5_XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CGG', '_'],
      ['R3F5-XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CGÉ', 'É'],
    ] as const) {
      const { reason, message } = refusal(() => parseRecoveryCode(text));
      expect(reason).toBe(SealedErrorReason.malformed);
      expect(message).toBe(
        `“${bad}” is not in a recovery code, which has only digits and the letters A to Z without U.`,
      );
    }
  });

  it('catches a typo on the device: every code with one character changed is refused', () => {
    const typo =
      'This code has a mistake in it: a character is not what the kit says. Please check each group again.';
    expect(refusal(() => parseRecoveryCode(CODE_TEXT))).toEqual({
      reason: SealedErrorReason.malformed,
      message: typo,
    });
    const characters = CHECKED_TEXT.replace(/-/g, '');
    for (let at = 0; at < characters.length; at++) {
      for (const other of '0123456789ABCDEFGHJKMNPQRSTVWXYZ') {
        if (other === characters[at]) continue;
        const text = characters.slice(0, at) + other + characters.slice(at + 1);
        expect(refusal(() => parseRecoveryCode(text)).message).toBe(typo);
      }
    }
  });

  it('refuses a code of the wrong length, saying how many characters it needs', () => {
    expect(refusal(() => parseRecoveryCode('R3F5-XV81-4D2P-F2DB-SQQZ-XQ5T-K1V5-8CG'))).toEqual({
      reason: SealedErrorReason.malformed,
      message: 'A recovery code has 32 letters and digits; this one has 31.',
    });
    expect(refusal(() => parseRecoveryCode(`${CODE_TEXT}-0`)).message).toBe(
      'A recovery code has 32 letters and digits; this one has 33.',
    );
    expect(refusal(() => parseRecoveryCode(' - ')).message).toBe(
      'A recovery code has 32 letters and digits; this one has 0.',
    );
  });

  it('refuses to write bytes that are not a code', () => {
    expect(refusal(() => formatRecoveryCode(new Uint8Array(16) as RecoveryCode)).reason).toBe(
      SealedErrorReason.malformed,
    );
  });
});

describe('the kit link', () => {
  it('is the recovery address with the code in the fragment', () => {
    const link = recoveryKitLink('https://mend.example', spaceId, CHECKED);
    expect(link).toBe(`https://mend.example/recover/${spaceId}#r=${CHECKED_TEXT}`);
    expect(recoveryAddress('https://mend.example/', spaceId)).toBe(
      `https://mend.example/recover/${spaceId}`,
    );
    expect(new URL(link).pathname).toBe(`/recover/${spaceId}`);
    expect(parseRecoveryFragment(new URL(link).hash)).toEqual(CHECKED);
  });

  it('gives the code back from a fragment with or without its #, and null when it has none', () => {
    expect(parseRecoveryFragment(`r=${CHECKED_TEXT}`)).toEqual(CHECKED);
    expect(parseRecoveryFragment(`#x=1&r=${CHECKED_TEXT.toLowerCase()}`)).toEqual(CHECKED);
    expect(parseRecoveryFragment('')).toBeNull();
    expect(parseRecoveryFragment('#')).toBeNull();
    expect(parseRecoveryFragment('#l=abc')).toBeNull();
  });

  it('refuses a fragment whose code is damaged, as a typed code would be', () => {
    expect(refusal(() => parseRecoveryFragment('#r=R3F5-XV81')).message).toBe(
      'A recovery code has 32 letters and digits; this one has 8.',
    );
  });
});

/**
 * Known answers for code c0de5eed…3210. Checked independently (test-vectors/crosscheck.py):
 * Argon2id by Python `cryptography` 48 and by the reference CLI (Debian's `argon2` 0~20190702):
 *   printf '\xc0\xde\x5e\xed\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10' |
 *     argon2 'mend/v1/recovery/space_0123456789abcdef' -id -t 2 -k 19456 -p 1 -l 32 -r
 * and HKDF (Python hmac/hashlib), Ed25519 and X25519 (`cryptography`) from its output. Each
 * real derivation fills 19 MiB for about a second: this file runs two.
 */
describe('the recovery device', () => {
  const SLOW = 60_000;

  it(
    'follows from the code and the space: Argon2id, then HKDF for each key, then the signature',
    async () => {
      const m = await recoveryKey(CODE, spaceId);
      expect(toHex(m)).toBe('4c0b960c63df4f22c11ca7dadead48fac9db094bcefdea9e02bdc349a012821a');

      const device = recoveryDeviceFrom(m);
      expect(toHex(device.signing.secretKey)).toBe(
        'a9297a022493bbbbdad86523499595b9a5c878cafb30d4de7d955632837f8a63',
      );
      expect(toHex(device.signing.publicKey)).toBe(
        '694c2cea1ed901d94162bf757768dcf2d73baa3f9875649812eb549b00d5a819',
      );
      expect(toHex(device.agreement.secretKey)).toBe(
        '2f3b37b9df718cb781b313287f065f63366f2e298836133502f5346434d22d4b',
      );
      expect(toHex(device.agreement.publicKey)).toBe(
        'dadbf999ccaff4751a94732d2321984e63157aa4df33257c39a14bddb1363259',
      );

      const signature = recoverySignature(device, spaceId, CHALLENGE);
      expect(toHex(signature)).toBe(
        '5e00c73e67ce47209e5d70e0c6e8cad567a34d55a1c9824409f98d8b9db1e639' +
          '17db7b9bcfdde31e9155c8fe87651554be88158decf63f379f3767e66ce2390a',
      );
      const key = device.signing.publicKey;
      expect(verifyRecoverySignature(key, spaceId, CHALLENGE, signature)).toBe(true);
      expect(verifyRecoverySignature(key, otherSpaceId, CHALLENGE, signature)).toBe(false);
      expect(verifyRecoverySignature(key, spaceId, 'AAECAwQFBgcICQoLDA0ODx', signature)).toBe(
        false,
      );
      const stranger = newDeviceIdentity();
      expect(
        verifyRecoverySignature(stranger.signing.publicKey, spaceId, CHALLENGE, signature),
      ).toBe(false);
      expect(
        verifyRecoverySignature(
          key,
          spaceId,
          CHALLENGE,
          recoverySignature(stranger, spaceId, CHALLENGE),
        ),
      ).toBe(false);
    },
    SLOW,
  );

  it(
    'is another device in another space, and the page keeps running while it is derived',
    async () => {
      let turns = 0;
      const timer = setInterval(() => (turns += 1), 1);
      const device = await deriveRecoveryDevice(CODE, otherSpaceId).finally(() =>
        clearInterval(timer),
      );
      expect(turns).toBeGreaterThan(0);
      expect(toHex(device.signing.publicKey)).toBe(
        '12f8a92a9b0b8d3100da8e76717983cc521d34ecc812e8cc2e35316431644788',
      );
      expect(toHex(device.agreement.publicKey)).toBe(
        '9ed68f38885885c5ab59adce4ecaf46ea803e6f3e981f9c760f0000f749d2024',
      );
      expect(toHex(recoverySignature(device, otherSpaceId, CHALLENGE))).toBe(
        '5cb263c7bf6d237f429c47a1150bece999695b6c0ae80982cdf1ac1978ba40c1' +
          '250c27a6cc660b0158b5609377ca25178e214c096e28a41c5476a750abcb7d0c',
      );
    },
    SLOW,
  );
});

describe('the recovery signature', () => {
  const device = newDeviceIdentity();

  it('refuses to sign a challenge not of the protocol’s shape', () => {
    for (const challenge of ['', 'short', `${CHALLENGE}A`, 'AAECAwQFBgcICQoLDA0OD/', 'a\0b']) {
      expect(refusal(() => recoverySignature(device, spaceId, challenge))).toEqual({
        reason: SealedErrorReason.malformed,
        message: 'The server’s recovery challenge is not readable.',
      });
    }
  });

  it('does not verify, nor throw, for a signature or challenge of the wrong shape', () => {
    const signature = recoverySignature(device, spaceId, CHALLENGE);
    const key = device.signing.publicKey;
    expect(verifyRecoverySignature(key, spaceId, CHALLENGE, signature.subarray(1))).toBe(false);
    expect(verifyRecoverySignature(key, spaceId, `${CHALLENGE}\0`, signature)).toBe(false);
    expect(verifyRecoverySignature(key.subarray(1), spaceId, CHALLENGE, signature)).toBe(false);
  });
});

describe('a code of the wrong size', () => {
  it('is refused before any slow work', async () => {
    await expect(recoveryKey(new Uint8Array(16) as RecoveryCode, spaceId)).rejects.toThrow(
      SealedError,
    );
  });
});
