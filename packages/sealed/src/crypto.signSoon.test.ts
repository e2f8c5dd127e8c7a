import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  newSigningKeys,
  platformSigningKeys,
  restorePlatformSigningKeys,
  sign,
  signSoon,
  verify,
  type KeyPair,
} from './crypto.js';
import { toBase64Url as base64Url } from './bytes.js';
import { hex } from './testkit.js';

/**
 * `signSoon` must give exactly `sign`'s bytes: a device finishes an envelope with noble's
 * signature when something needs its stream's next place before the platform's comes, and the
 * next envelope names the hash of the bytes, signature included.
 */

/** `signSoon` for `keys` once their import has settled (the first call only starts it). */
async function ready(keys: KeyPair): Promise<void> {
  expect(signSoon(keys, new Uint8Array(0))).toBeNull();
  await vi.waitFor(() => expect(signSoon(keys, new Uint8Array(0))).not.toBeNull());
}

afterEach(() => vi.restoreAllMocks());

describe('signSoon: the platform Ed25519 for a device’s own envelopes', () => {
  it('matches RFC 8032 section 7.1 TEST 2 and TEST 3 through the platform in Node', async () => {
    for (const v of [
      {
        secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
        public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
        message: '72',
        signature:
          '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
      },
      {
        secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
        public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
        message: 'af82',
        signature:
          '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
      },
    ]) {
      const keys = { secretKey: hex(v.secret), publicKey: hex(v.public) };
      await ready(keys);
      expect(await signSoon(keys, hex(v.message))).toEqual(hex(v.signature));
    }
  });

  it('gives noble’s signature for any key and message', async () => {
    const keys = newSigningKeys();
    await ready(keys);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (message) => {
        expect(await signSoon(keys, message)).toEqual(sign(keys.secretKey, message));
      }),
      { numRuns: 100 },
    );
  });

  it('is never used for a key pair whose platform signature differs from noble’s', async () => {
    const keys = newSigningKeys();
    const subtle = globalThis.crypto.subtle;
    const real = subtle.sign.bind(subtle);
    vi.spyOn(subtle, 'sign').mockImplementation(async (...args) => {
      const signature = new Uint8Array(await real(...args));
      signature[0]! ^= 1;
      return signature.buffer;
    });
    expect(signSoon(keys, new Uint8Array(1))).toBeNull();
    await vi.waitFor(() => expect(subtle.sign).toHaveBeenCalled());
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(signSoon(keys, new Uint8Array(1))).toBeNull();
  });

  it('is never used where the platform has no Ed25519', async () => {
    const keys = newSigningKeys();
    vi.spyOn(globalThis.crypto.subtle, 'importKey').mockRejectedValue(
      new DOMException('Unrecognized name.', 'NotSupportedError'),
    );
    expect(signSoon(keys, new Uint8Array(1))).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(signSoon(keys, new Uint8Array(1))).toBeNull();
  });
});

describe('platformSigningKeys: a device key held by the platform alone', () => {
  const TEST_3 = {
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  };

  it('keeps no bytes, cannot be exported, and signs as RFC 8032 section 7.1 TEST 3 says', async () => {
    const held = await platformSigningKeys({
      secretKey: hex(TEST_3.secret),
      publicKey: hex(TEST_3.public),
    });
    expect(held).not.toBeNull();
    expect(held!.secretKey).toBeNull();
    expect(held!.publicKey).toEqual(hex(TEST_3.public));
    expect(held!.platformKey!.extractable).toBe(false);
    await expect(globalThis.crypto.subtle.exportKey('jwk', held!.platformKey!)).rejects.toThrow();
    // Never null: a key the platform holds alone signs there.
    expect(await signSoon(held!, hex(TEST_3.message))).toEqual(hex(TEST_3.signature));
  });

  it('signs as noble would have with the bytes it was made from', async () => {
    const keys = newSigningKeys();
    const held = (await platformSigningKeys(keys))!;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (message) => {
        expect(await signSoon(held, message)).toEqual(sign(keys.secretKey, message));
      }),
      { numRuns: 50 },
    );
  });

  it('is not made where the platform has no Ed25519, or signs otherwise: the bytes stay', async () => {
    const subtle = globalThis.crypto.subtle;
    const importing = vi
      .spyOn(subtle, 'importKey')
      .mockRejectedValue(new DOMException('Unrecognized name.', 'NotSupportedError'));
    expect(await platformSigningKeys(newSigningKeys())).toBeNull();
    importing.mockRestore();
    const real = subtle.sign.bind(subtle);
    vi.spyOn(subtle, 'sign').mockImplementation(async (...args) => {
      const signature = new Uint8Array(await real(...args));
      signature[5]! ^= 1;
      return signature.buffer;
    });
    expect(await platformSigningKeys(newSigningKeys())).toBeNull();
  });

  it('is read back from storage only as the non-extractable key of its own public key', async () => {
    const keys = newSigningKeys();
    const held = (await platformSigningKeys(keys))!;
    const again = await restorePlatformSigningKeys(keys.publicKey, held.platformKey!);
    expect(again).toEqual({
      publicKey: keys.publicKey,
      secretKey: null,
      platformKey: held.platformKey,
    });
    const message = new Uint8Array([1, 2, 3]);
    expect(verify(keys.publicKey, message, await signSoon(again!, message)!)).toBe(true);
    // Another device's key, an extractable one, or a key of another kind: refused.
    const other = (await platformSigningKeys(newSigningKeys()))!;
    expect(await restorePlatformSigningKeys(keys.publicKey, other.platformKey!)).toBeNull();
    const subtle = globalThis.crypto.subtle;
    const extractable = await subtle.importKey(
      'jwk',
      { kty: 'OKP', crv: 'Ed25519', d: base64Url(keys.secretKey), x: base64Url(keys.publicKey) },
      'Ed25519',
      true,
      ['sign'],
    );
    expect(await restorePlatformSigningKeys(keys.publicKey, extractable)).toBeNull();
    const aes = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt']);
    expect(await restorePlatformSigningKeys(keys.publicKey, aes)).toBeNull();
  });
});
