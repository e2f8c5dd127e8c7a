import type { SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { SealedError, SealedErrorReason } from './errors.js';
import { newDeviceIdentity, restoreIdentity, storeIdentity } from './identity.js';
import { newSpaceKey, SpaceKeyring } from './SpaceKeyring.js';
import { fixedRandom, hex, toHex, withRandomSource } from './testkit.js';

const spaceId = 'space_0123456789abcdef' as SpaceId;

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof SealedError) return error.reason;
    throw error;
  }
  return 'no error';
}

describe('device identity', () => {
  it('survives storage as JSON and comes back with the same keys', () => {
    const identity = newDeviceIdentity();
    const stored = JSON.parse(JSON.stringify(storeIdentity(identity))) as unknown;
    expect(restoreIdentity(stored)).toEqual(identity);
  });

  it('refuses stored keys that are missing, of the wrong length or not base64url', () => {
    const stored = storeIdentity(newDeviceIdentity());
    for (const bad of [
      null,
      [],
      { ...stored, v: 2 },
      { ...stored, signingSecret: undefined },
      { ...stored, agreementSecret: stored.agreementSecret.slice(2) },
      { ...stored, signingSecret: `${stored.signingSecret.slice(1)}!` },
    ]) {
      expect(reason(() => restoreIdentity(bad))).toBe(SealedErrorReason.malformed);
    }
  });

  it('two devices get different keys', () => {
    const a = newDeviceIdentity();
    const b = newDeviceIdentity();
    expect(toHex(a.signing.publicKey)).not.toBe(toHex(b.signing.publicKey));
    expect(toHex(a.agreement.publicKey)).not.toBe(toHex(b.agreement.publicKey));
  });
});

describe('the space keyring', () => {
  it('derives content and presence keys with the infos of docs/protocol.md', () => {
    // HKDF-SHA256(K = 32 × 0x01, empty salt, info "mend/v1/content/<space>/1" and
    // "mend/v1/presence/<space>/1"), computed independently with Python's hmac module.
    const keyring = new SpaceKeyring(spaceId);
    const keys = keyring.add(1, new Uint8Array(32).fill(1));
    expect(toHex(keys.content)).toBe(CONTENT_KEY);
    expect(toHex(keys.presence)).toBe(PRESENCE_KEY);
    expect(toHex(keyring.add(2, new Uint8Array(32).fill(1)).content)).not.toBe(CONTENT_KEY);
    expect(
      toHex(
        new SpaceKeyring('space_fedcba9876543210' as SpaceId).add(1, new Uint8Array(32).fill(1))
          .content,
      ),
    ).not.toBe(CONTENT_KEY);
  });

  it('seals with the newest epoch and keeps the older ones for opening', () => {
    const keyring = new SpaceKeyring(spaceId);
    expect(keyring.latest).toBeUndefined();
    keyring.add(2, newSpaceKey());
    keyring.add(1, newSpaceKey());
    expect(keyring.latest?.epoch).toBe(2);
    expect(keyring.get(1)?.epoch).toBe(1);
    expect(keyring.get(3)).toBeUndefined();
  });

  it('accepts the same key for an epoch twice but never a second, different key', () => {
    const keyring = new SpaceKeyring(spaceId);
    const key = newSpaceKey();
    keyring.add(1, key);
    expect(reason(() => keyring.add(1, key.slice()))).toBe('no error');
    expect(reason(() => keyring.add(1, newSpaceKey()))).toBe(SealedErrorReason.badKey);
    expect(reason(() => keyring.add(0, newSpaceKey()))).toBe(SealedErrorReason.malformed);
    expect(reason(() => keyring.add(2, new Uint8Array(16)))).toBe(SealedErrorReason.badKey);
  });

  it('survives storage as JSON, and refuses a stored keyring that is not one', () => {
    const keyring = new SpaceKeyring(spaceId);
    keyring.add(1, newSpaceKey());
    keyring.add(2, newSpaceKey());
    const back = SpaceKeyring.restore(JSON.parse(JSON.stringify(keyring.toStored())));
    expect(back.spaceId).toBe(spaceId);
    expect(back.get(1)).toEqual(keyring.get(1));
    expect(back.get(2)).toEqual(keyring.get(2));
    const stored = keyring.toStored();
    for (const bad of [
      {},
      { ...stored, spaceId: 'no/slashes/in/ids' },
      { ...stored, epochs: [{ epoch: 1 }] },
      { ...stored, epochs: [{ epoch: 1, spaceKey: 'AAAA' }] },
    ]) {
      expect(reason(() => SpaceKeyring.restore(bad))).toBe(SealedErrorReason.malformed);
    }
  });

  it('a new space key comes from the random source', () => {
    const key = hex('11'.repeat(32));
    expect(withRandomSource(fixedRandom(key), newSpaceKey)).toEqual(key);
  });
});

const CONTENT_KEY = '69fadcc7236b6c012a412b26dc1abaa6598ce6a07fa18c4fbcaa68bcd22075fc';
const PRESENCE_KEY = 'b192f7268fa7451a9bd5334212e60f13cb08c8bb69550871c5e2e179cf26a64e';
