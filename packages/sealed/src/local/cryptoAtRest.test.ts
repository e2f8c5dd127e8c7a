import { describe, expect, it } from 'vitest';
import { createAtRestKey, openAtRest, sealAtRest } from '../cryptoAtRest.js';

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const label = new TextEncoder().encode('mend/v1/at-rest/test');

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV,
// with associated data), as in NIST's GCM validation vectors.
const gcm16 = {
  key: hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
  iv: hex('cafebabefacedbaddecaf888'),
  plaintext: hex(
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
      '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
  ),
  aad: hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'),
  ciphertextAndTag: hex(
    '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
      '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
      '76fc6ece0f4e1768cddf8853bb2d551b',
  ),
};

describe('atRest', () => {
  it('opens the AES-256-GCM known-answer vector (test case 16)', async () => {
    // The only way to hold a known key: the test imports it (sealing never takes raw keys).
    const key = await crypto.subtle.importKey('raw', gcm16.key, 'AES-GCM', false, ['decrypt']);
    const sealed = new Uint8Array([...gcm16.iv, ...gcm16.ciphertextAndTag]);
    expect(await openAtRest(key, sealed, gcm16.aad)).toEqual(gcm16.plaintext);
  });

  it('makes a key that can be used but not exported', async () => {
    const key = await createAtRestKey();
    expect(key.extractable).toBe(false);
    expect(key.algorithm).toEqual({ name: 'AES-GCM', length: 256 });
    await expect(crypto.subtle.exportKey('raw', key)).rejects.toThrow();
  });

  it('opens what it sealed, and lays it out as iv, ciphertext and tag', async () => {
    const key = await createAtRestKey();
    const secret = crypto.getRandomValues(new Uint8Array(64));
    const sealed = await sealAtRest(key, secret, label);
    expect(sealed.byteLength).toBe(12 + 64 + 16);
    expect(await openAtRest(key, sealed, label)).toEqual(secret);
  });

  it('uses a fresh IV each time, so the same secret never seals the same way twice', async () => {
    const key = await createAtRestKey();
    const secret = new Uint8Array(32).fill(7);
    const a = await sealAtRest(key, secret, label);
    const b = await sealAtRest(key, secret, label);
    expect(a.subarray(0, 12)).not.toEqual(b.subarray(0, 12));
    expect(a).not.toEqual(b);
  });

  it('refuses a sealed value with one bit changed, under another label or another key', async () => {
    const key = await createAtRestKey();
    const sealed = await sealAtRest(key, new Uint8Array(32).fill(1), label);
    const flipped = sealed.slice();
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    await expect(openAtRest(key, flipped, label)).rejects.toThrow();
    await expect(openAtRest(key, sealed, new TextEncoder().encode('other'))).rejects.toThrow();
    await expect(openAtRest(await createAtRestKey(), sealed, label)).rejects.toThrow();
  });

  it('refuses bytes too short to hold an IV and a tag', async () => {
    const key = await createAtRestKey();
    await expect(openAtRest(key, new Uint8Array(27), label)).rejects.toThrow(RangeError);
  });
});
