import type { SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { agreementPublicKey, newAgreementKeys } from './crypto.js';
import {
  decodeEpochBoxPayload,
  encodeEpochBoxPayload,
  openEpochBox,
  sealEpochBox,
} from './epochBox.js';
import { SealedError, SealedErrorReason } from './errors.js';
import { fixedRandom, hex, toHex, withRandomSource } from './testkit.js';

const spaceId = 'sealedspace_0123456789' as SpaceId;
const spaceKey = new Uint8Array(32).fill(0x5a);

describe('the epoch box', () => {
  it('holds version 1, the space, the epoch and the key (known answer)', () => {
    const bytes = encodeEpochBoxPayload({ spaceId, epoch: 2, spaceKey });
    expect(toHex(bytes)).toBe(
      '01' + '16' + toHex(new TextEncoder().encode(spaceId)) + '02' + '5a'.repeat(32),
    );
    expect(decodeEpochBoxPayload(bytes)).toEqual({ spaceId, epoch: 2, spaceKey });
  });

  it('seals to the device’s agreement key as the protocol’s box does (known answer)', () => {
    const recipientSecret = hex('77'.repeat(32));
    const recipient = {
      secretKey: recipientSecret,
      publicKey: agreementPublicKey(recipientSecret),
    };
    const box = withRandomSource(fixedRandom(hex('01'.repeat(32)), hex('02'.repeat(24))), () =>
      sealEpochBox(recipient.publicKey, { spaceId, epoch: 2, spaceKey }),
    );
    expect(toHex(box.subarray(0, 32))).toBe(toHex(agreementPublicKey(hex('01'.repeat(32)))));
    expect(toHex(box.subarray(32, 56))).toBe('02'.repeat(24));
    expect(toHex(box)).toMatchInlineSnapshot(
      `"a4e09292b651c278b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a2090202020202020202020202020202020202020202020202027f2adb84d157b67c1df5145f61bfb2b600faa2186c17bed9d70edab6e85c20c33a17e9c0a618510a389e961e34f57b07d96d895e97a33f0aa65553cade90a4bf7143d2ec5c2df23689"`,
    );
    expect(openEpochBox(recipient, box, { spaceId, epoch: 2 })).toEqual(spaceKey);
  });

  it('opens for its device only, and only for the space and epoch it names', () => {
    const device = newAgreementKeys();
    const box = sealEpochBox(device.publicKey, { spaceId, epoch: 3, spaceKey });
    expect(openEpochBox(device, box, { spaceId, epoch: 3 })).toEqual(spaceKey);
    const other = openEpochBox(newAgreementKeys(), box, { spaceId, epoch: 3 });
    expect(other).toBeInstanceOf(SealedError);
    expect((other as SealedError).reason).toBe(SealedErrorReason.badCiphertext);
    const lifted = openEpochBox(device, box, { spaceId, epoch: 4 });
    expect((lifted as SealedError).reason).toBe(SealedErrorReason.malformed);
    const elsewhere = openEpochBox(device, box, {
      spaceId: 'sealedspace_other00000' as SpaceId,
      epoch: 3,
    });
    expect((elsewhere as SealedError).message).toContain('another space');
    const changed = box.slice();
    changed[changed.length - 1]! ^= 1;
    expect(openEpochBox(device, changed, { spaceId, epoch: 3 })).toBeInstanceOf(SealedError);
  });

  it('refuses a garbled payload', () => {
    const bytes = encodeEpochBoxPayload({ spaceId, epoch: 2, spaceKey });
    for (const bad of [
      bytes.subarray(0, bytes.length - 1),
      Uint8Array.of(...bytes, 0),
      Uint8Array.of(2, ...bytes.subarray(1)),
    ]) {
      expect(() => decodeEpochBoxPayload(bad)).toThrow(SealedError);
    }
  });
});
