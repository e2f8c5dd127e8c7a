import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boxSeal } from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import { newDeviceIdentity, type DeviceIdentity } from './identity.js';
import {
  decodeLinkBoxPayload,
  encodeLinkBoxPayload,
  linkCheck,
  linkCodeFor,
  linkSecretText,
  newLinkSecret,
  openLinkBox,
  parseLinkSecret,
  sealLinkBox,
  type LinkBoxPayload,
  type LinkSecret,
} from './link.js';
import { newSeatSecret } from './reveal.js';
import { newSpaceKey } from './SpaceKeyring.js';
import { seededRandom, withRandomSource } from './testkit.js';

function payload(epochs = [1]): LinkBoxPayload {
  return {
    epochs: epochs.map((epoch) => ({ epoch, spaceKey: newSpaceKey() })),
    creatorSigningKey: newDeviceIdentity().signing.publicKey,
    seatSecret: newSeatSecret(),
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

describe('the link secret, its code and the link check', () => {
  it('the secret reads back from its link text, and nothing else reads as a secret', () => {
    const secret = newLinkSecret();
    const text = linkSecretText(secret);
    expect(text).toHaveLength(43);
    expect(parseLinkSecret(text)).toEqual(secret);
    for (const bad of ['', text.slice(1), `${text}A`, `${text.slice(0, 42)}=`]) {
      expect(reason(() => parseLinkSecret(bad))).toBe(SealedErrorReason.malformed);
    }
  });

  it('the code is 22 base64url characters, fixed by the secret', () => {
    const secret = newLinkSecret();
    expect(linkCodeFor(secret)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(linkCodeFor(parseLinkSecret(linkSecretText(secret)))).toBe(linkCodeFor(secret));
    expect(linkCodeFor(newLinkSecret())).not.toBe(linkCodeFor(secret));
  });

  it('the check is six digits that change with the secret and with either key', () => {
    // Fixed keys: with random ones, two checks would agree by chance one time in a million.
    const [secret, another, device, other] = withRandomSource(seededRandom('link check'), () => [
      newLinkSecret(),
      newLinkSecret(),
      newDeviceIdentity(),
      newDeviceIdentity(),
    ]) as [LinkSecret, LinkSecret, DeviceIdentity, DeviceIdentity];
    const check = linkCheck(secret, device.signing.publicKey, device.agreement.publicKey);
    expect(check).toMatch(/^\d{6}$/);
    expect(linkCheck(secret, device.signing.publicKey, device.agreement.publicKey)).toBe(check);
    const variants = [
      linkCheck(another, device.signing.publicKey, device.agreement.publicKey),
      linkCheck(secret, other.signing.publicKey, device.agreement.publicKey),
      linkCheck(secret, device.signing.publicKey, other.agreement.publicKey),
    ];
    for (const v of variants) expect(v).not.toBe(check);
    expect(reason(() => linkCheck(secret, new Uint8Array(31), device.agreement.publicKey))).toBe(
      SealedErrorReason.badKey,
    );
  });

  it('the check keeps leading zeros', () => {
    // Over many random devices the first digit is 0 about one time in ten.
    const secret = newLinkSecret();
    const checks = Array.from({ length: 200 }, () => {
      const d = newDeviceIdentity();
      return linkCheck(secret, d.signing.publicKey, d.agreement.publicKey);
    });
    expect(checks.every((c) => /^\d{6}$/.test(c))).toBe(true);
    expect(checks.some((c) => c.startsWith('0'))).toBe(true);
  });
});

describe('the link box', () => {
  it('opens on the device it was sealed to, with every epoch, the creator and the seat secret', () => {
    const device = newDeviceIdentity();
    const p = payload([1, 2, 5]);
    const box = sealLinkBox(device.agreement.publicKey, p);
    expect(openLinkBox(device, box)).toEqual(p);
    expect(openLinkBox(newDeviceIdentity(), box)).toBeNull();
    const changed = box.slice();
    changed[changed.length - 1]! ^= 1;
    expect(openLinkBox(device, changed)).toBeNull();
  });

  it('a box that opens but holds something else is malformed, not trusted', () => {
    const device = newDeviceIdentity();
    const box = boxSeal(device.agreement.publicKey, new Uint8Array([1, 1, 1]));
    expect(reason(() => openLinkBox(device, box))).toBe(SealedErrorReason.malformed);
  });

  it('the payload round-trips, and refuses to encode what it could not decode', () => {
    const p = payload([3, 1]);
    expect(decodeLinkBoxPayload(encodeLinkBoxPayload(p))).toEqual(p);
    expect(reason(() => encodeLinkBoxPayload(payload([])))).toBe(SealedErrorReason.malformed);
    expect(reason(() => encodeLinkBoxPayload(payload([2, 2])))).toBe(SealedErrorReason.malformed);
    expect(reason(() => encodeLinkBoxPayload(payload([0])))).toBe(SealedErrorReason.malformed);
    expect(
      reason(() => encodeLinkBoxPayload({ ...payload(), creatorSigningKey: new Uint8Array(31) })),
    ).toBe(SealedErrorReason.badKey);
  });

  it('any cut or extended payload is refused as malformed', () => {
    const bytes = encodeLinkBoxPayload(payload([1, 2]));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.uint8Array(), (cut, tail) => {
        expect(reason(() => decodeLinkBoxPayload(bytes.slice(0, cut)))).toBe(
          SealedErrorReason.malformed,
        );
        if (tail.length > 0) {
          const longer = new Uint8Array([...bytes, ...tail]);
          expect(reason(() => decodeLinkBoxPayload(longer))).toBe(SealedErrorReason.malformed);
        }
      }),
      { numRuns: 60 },
    );
    const otherVersion = bytes.slice();
    otherVersion[0] = 2;
    expect(reason(() => decodeLinkBoxPayload(otherVersion))).toBe(SealedErrorReason.malformed);
  });
});
