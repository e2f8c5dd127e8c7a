import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newSigningKeys, sign, verify, vouchFor } from './crypto.js';
import { hex } from './testkit.js';

/**
 * `vouchFor` must never say yes where `verify` says no, or two devices (one with a platform
 * Ed25519, one without) could take in different envelopes. The hostile signatures below are
 * the edges where Ed25519 implementations are known to disagree (Chalkias et al., "Taming the
 * many EdDSAs", 2020); noble builds them here, tests only (eslint allows it in this file).
 */

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const Point = ed25519.Point;

const le = (n: bigint, length = 32) => {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const fromLE = (bytes: Uint8Array) => bytes.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);
const challenge = (r: Uint8Array, a: Uint8Array, m: Uint8Array) =>
  fromLE(sha512(new Uint8Array([...r, ...a, ...m]))) % L;
const signature = (r: Uint8Array, s: bigint) => new Uint8Array([...r, ...le(s)]);
const message = new TextEncoder().encode('mend/v1/envelope\0 a digest of thirty-two bytes..');

/** A device key pair as a scalar and its public bytes. */
function scalarKeys() {
  const { secretKey } = newSigningKeys();
  const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(secretKey);
  return { secretKey, scalar, publicKey: pointBytes };
}

/** Both verdicts; the device's verdict is `verify`'s, whatever `vouchFor` says. */
async function verdicts(publicKey: Uint8Array, signed: Uint8Array, sig: Uint8Array) {
  return {
    vouched: await vouchFor(publicKey, signed, sig),
    verified: verify(publicKey, signed, sig),
  };
}

describe('vouchFor: the platform Ed25519 ahead of time', () => {
  it('vouches for honest signatures in Node (the platform has Ed25519), RFC 8032 TEST 2 among them', async () => {
    const publicKey = hex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c');
    const sig = hex(
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    );
    expect(await vouchFor(publicKey, hex('72'), sig)).toBe(true);
    const keys = newSigningKeys();
    expect(await vouchFor(keys.publicKey, message, sign(keys.secretKey, message))).toBe(true);
  });

  it('never vouches for a changed key, message or signature, nor for one of the wrong shape', async () => {
    const keys = newSigningKeys();
    const sig = sign(keys.secretKey, message);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('key', 'message', 'signature'),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (part, at, bit) => {
          const bytes = { key: keys.publicKey, message, signature: sig }[part].slice();
          bytes[at % bytes.length]! ^= 1 << bit;
          const args = {
            key: [bytes, message, sig],
            message: [keys.publicKey, bytes, sig],
            signature: [keys.publicKey, message, bytes],
          }[part] as [Uint8Array, Uint8Array, Uint8Array];
          expect(await vouchFor(...args)).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
    expect(await vouchFor(keys.publicKey.subarray(1), message, sig)).toBe(false);
    expect(await vouchFor(keys.publicKey, message, sig.subarray(1))).toBe(false);
  });

  it('does not vouch for a small-order key, which verify refuses (identity key, identity R, S = 0)', async () => {
    const identity = Point.ZERO.toBytes();
    const sig = signature(identity, 0n);
    expect(await verdicts(identity, message, sig)).toEqual({ vouched: false, verified: false });
    for (const torsion of ED25519_TORSION_SUBGROUP) {
      const key = hex(torsion);
      expect(await verdicts(key, message, signature(identity, 0n))).toEqual({
        vouched: false,
        verified: false,
      });
    }
  });

  it('does not vouch for S ≥ L (a malleable copy of an honest signature)', async () => {
    const keys = newSigningKeys();
    const sig = sign(keys.secretKey, message);
    const malleable = signature(sig.subarray(0, 32), fromLE(sig.subarray(32)) + L);
    expect(await verdicts(keys.publicKey, message, malleable)).toEqual({
      vouched: false,
      verified: false,
    });
  });

  it('does not vouch for R encoded with y ≥ p or as a negative zero, which verify refuses', async () => {
    const { scalar, publicKey } = scalarKeys();
    // The identity point (x = 0, y = 1), written three ways: canonical, y + p, and x = -0.
    const canonical = le(1n);
    const yPlusP = le(1n + P);
    const negativeZero = le(1n | (1n << 255n));
    for (const r of [yPlusP, negativeZero]) {
      // [S]B = R + [k]A with R the identity: S = k·a.
      const sig = signature(r, (challenge(r, publicKey, message) * scalar) % L);
      expect(await verdicts(publicKey, message, sig)).toEqual({ vouched: false, verified: false });
    }
    const sig = signature(canonical, (challenge(canonical, publicKey, message) * scalar) % L);
    expect(verify(publicKey, message, sig)).toBe(true);
  });

  it('a mixed-order key (A + a point of order 8) gets verify’s verdict, whatever the platform says', async () => {
    const { scalar, publicKey } = scalarKeys();
    const torsion = Point.fromBytes(hex(ED25519_TORSION_SUBGROUP[1]!));
    const mixed = Point.fromBytes(publicKey).add(torsion).toBytes();
    // Signed as if A were honest: the equation holds up to the torsion part, so only the
    // cofactored form (noble's) accepts; most platforms check the cofactorless one.
    for (let i = 0; i < 16; i++) {
      const r = Point.BASE.multiply(BigInt(i + 1) * 7919n).toBytes();
      const s = (BigInt(i + 1) * 7919n + challenge(r, mixed, message) * scalar) % L;
      const { vouched, verified } = await verdicts(mixed, message, signature(r, s));
      expect(verified).toBe(true);
      if (vouched) expect(verified).toBe(true);
    }
  });
});
