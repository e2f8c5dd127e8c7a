import { EnvelopeKind, type SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { boxOpen, boxSeal } from './crypto.js';
import { openEnvelope, sealEnvelope } from './envelopes.js';
import { openEpochBox, sealEpochBox } from './epochBox.js';
import { newDeviceIdentity } from './identity.js';
import {
  inviteCodeFor,
  openKeyBox,
  openWelcome,
  sealKeyBox,
  sealWelcome,
  type InviteSecret,
} from './invite.js';
import { linkCheck, linkCodeFor, openLinkBox, sealLinkBox, type LinkSecret } from './link.js';
import type { SeatSecret } from './reveal.js';
import { SpaceKeyring } from './SpaceKeyring.js';
import { safetyCode } from './safetyCode.js';
import { fixedRandom, hex, toHex, withRandomSource } from './testkit.js';

/**
 * Composition vectors: our constructions over fixed "random" bytes, frozen. The expected values
 * were computed independently by test-vectors/crosscheck.py (Python hmac/hashlib and the
 * `cryptography` package) from the text of docs/protocol.md, so these tests fail if either the
 * code or the construction changes by accident.
 */

const spaceId = 'space_0123456789abcdef' as SpaceId;
const fill = (byte: number, n = 32) => new Uint8Array(n).fill(byte);

function devices() {
  return withRandomSource(fixedRandom(fill(0xa1), fill(0xa2), fill(0xb1), fill(0xb2)), () => ({
    a: newDeviceIdentity(),
    b: newDeviceIdentity(),
  }));
}

describe('composition vectors', () => {
  it('device keys come from the random source as RFC 8032 / RFC 7748 seeds', () => {
    const { a } = devices();
    expect(toHex(a.signing.publicKey)).toBe(
      'bc7cbcb5636375fa1d82434d466724d92377f53b980695dd49d26d0ce12205a5',
    );
    expect(toHex(a.agreement.publicKey)).toBe(
      '3c5c6ce2dd99e10d2c3de05d773aa15e3e6d971ed4e41389c93b4bbdda177212',
    );
  });

  it('a box is ephemeral key ‖ nonce ‖ XChaCha20-Poly1305 under HKDF(X25519, "mend/v1/box" ‖ keys)', () => {
    const { b } = devices();
    const plaintext = new TextEncoder().encode('space key for epoch 2');
    const box = withRandomSource(fixedRandom(fill(0xe1), fill(0x4e, 24)), () =>
      boxSeal(b.agreement.publicKey, plaintext),
    );
    expect(toHex(box)).toBe(BOX);
    expect(boxOpen(b.agreement.secretKey, b.agreement.publicKey, hex(BOX))).toEqual(plaintext);
  });

  it('the invite code and the welcome box follow from the invite secret', () => {
    const { a } = devices();
    const secret = fill(0x5e) as InviteSecret;
    expect(inviteCodeFor(secret)).toBe('_7n3HvVdhDiHYEcZiHysew');
    const payload = {
      epoch: 1,
      spaceKey: fill(0x5c),
      creatorSigningKey: a.signing.publicKey,
      creatorAgreementKey: a.agreement.publicKey,
    };
    const box = withRandomSource(fixedRandom(fill(0x57, 24)), () => sealWelcome(secret, payload));
    expect(toHex(box)).toBe(WELCOME_BOX);
    expect(openWelcome(secret, hex(WELCOME_BOX))).toEqual(payload);
  });

  it('a key box is the welcome payload in a box to the device’s agreement key', () => {
    const { a, b } = devices();
    const payload = {
      epoch: 1,
      spaceKey: fill(0x5c),
      creatorSigningKey: a.signing.publicKey,
      creatorAgreementKey: a.agreement.publicKey,
    };
    const box = withRandomSource(fixedRandom(fill(0xe3), fill(0x4d, 24)), () =>
      sealKeyBox(b.agreement.publicKey, payload),
    );
    expect(toHex(box)).toBe(KEY_BOX);
    expect(openKeyBox(b, hex(KEY_BOX))).toEqual(payload);
    expect(openKeyBox(a, hex(KEY_BOX))).toBeNull();
  });

  it('the link code, the link check and the link box follow from the link secret', () => {
    const { a, b } = devices();
    const secret = fill(0x1e) as LinkSecret;
    expect(linkCodeFor(secret)).toBe('vFhDxgPmddloAieAgbcw7A');
    expect(linkCheck(secret, b.signing.publicKey, b.agreement.publicKey)).toBe('928795');
    const payload = {
      epochs: [
        { epoch: 1, spaceKey: fill(0x5c) },
        { epoch: 2, spaceKey: fill(0x5d) },
      ],
      creatorSigningKey: a.signing.publicKey,
      seatSecret: fill(0x5a) as SeatSecret,
    };
    const box = withRandomSource(fixedRandom(fill(0xe4), fill(0x4c, 24)), () =>
      sealLinkBox(b.agreement.publicKey, payload),
    );
    expect(toHex(box)).toBe(LINK_BOX);
    expect(openLinkBox(b, hex(LINK_BOX))).toEqual(payload);
    expect(openLinkBox(a, hex(LINK_BOX))).toBeNull();
  });

  it('the epoch box of a new epoch is sealed to the device as the protocol says', () => {
    const { a, b } = devices();
    const payload = { spaceId, epoch: 2, spaceKey: fill(0x5e) };
    const box = withRandomSource(fixedRandom(fill(0xe5), fill(0x4d, 24)), () =>
      sealEpochBox(b.agreement.publicKey, payload),
    );
    expect(toHex(box)).toBe(EPOCH_BOX);
    expect(openEpochBox(b.agreement, hex(EPOCH_BOX), { spaceId, epoch: 2 })).toEqual(fill(0x5e));
    expect(openEpochBox(a.agreement, hex(EPOCH_BOX), { spaceId, epoch: 2 })).toBeInstanceOf(Error);
  });

  it('an update envelope has the frozen bytes and hash', () => {
    const { a } = devices();
    const keyring = new SpaceKeyring(spaceId);
    keyring.add(1, fill(0x5c));
    const sealed = withRandomSource(fixedRandom(fill(0x6e, 24)), () =>
      sealEnvelope({
        identity: a,
        keyring,
        kind: EnvelopeKind.update,
        stream: 42,
        counter: 1,
        payload: new TextEncoder().encode('hello'),
      }),
    );
    expect(toHex(sealed.bytes)).toBe(ENVELOPE);
    expect(toHex(sealed.hash)).toBe(
      '2089fa25f4d77e3cd8ac00821b9cd86297a448bec401101e8a2ab9fdf903bb80',
    );
    expect(new TextDecoder().decode(openEnvelope(hex(ENVELOPE), keyring).payload)).toBe('hello');
  });

  it('the safety code of two devices is frozen, in either order', () => {
    const { a, b } = devices();
    expect(safetyCode(spaceId, a.signing.publicKey, b.signing.publicKey)).toBe('42867 47690');
    expect(safetyCode(spaceId, b.signing.publicKey, a.signing.publicKey)).toBe('42867 47690');
  });
});

const BOX =
  '4c2817a9d668ed844d2f95b93b69ecb8485095783a015a424164b0d09702894f' +
  '4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e' +
  'b1436141eb4ac4e622397d5e5725771dd3a9b0ae2c787f70f2114de55e8a25cff8f022e08a';

const WELCOME_BOX =
  '575757575757575757575757575757575757575757575757' +
  'e2ae41227128bf05f70ce17a691b2fad3705c9b4c3a6ff9fac1e3bb476ce8e7256d7f47b2a4d2cccf962ed38' +
  '0a20d2761a44c39b50d16784355e2a91fc42c0a4496d5b7b5d5a4407279a07b066db3b6c89c7b692963be028' +
  'a0c23fbe31b0d5de56ccf3fcb753f063fc569f01e6fb8445528e';

const KEY_BOX =
  'e94beb11d94ab9e25d5ed916cb5ec67b78b65727a8eecd16ebd7ed5a2efc260e' + // ephemeral public
  '4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d' + // nonce
  '79ae3d8988cce47c6e9f6d69ef5b16f4355a20e9df90969a07f1fe1c9c3f630746e45f750164bf18c67a3f4e' +
  '23df1c05783107531be9732990044c25bc2a2c824abaded614c84f2f494d19c002cf0ca873acf07d782401e2' +
  'c4ade26a4af3c96ae0a903ab07e1df2b5dcbb5c40d7cdd6e3e59';

const EPOCH_BOX =
  'e606d7ea293b0ce5dd7a32714e7de10fb8a01d6f23a6a93c1e32b06b12d8b319' + // ephemeral public
  '4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d' + // nonce
  'f912b6001416758543875c7fbd31f26f2b909bc9784fbc740ec3ca05c590d5165a57869822d431e2bd06ea89' +
  '27d05332c3fd3a2e2e9aa7f8ab8bd8542a3e0ab078ab2bc54a44107f16';

const LINK_BOX =
  '2d98377b0faac966233242c517b804789dac2670c1aad86417752060d5f0203c' + // ephemeral public
  '4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c' + // nonce
  'bd2b62a88f6d500874ea959ec7fb6326d0017817148dcab7c6c239d4ce0551d4f07168a65d54c6147841eb21' +
  '15e7471355edcecee75dc3bf352107b2d0cd2849ee2045f5f4befe6654dd3fe00564e4ec4b9fd88ae19f2d2a' +
  'f4a0aad2fee087c1c16783293396622ec3b01becd2661525f2d08f917ac95877398595fc3505af68a489d504' +
  '5723d34edd685af005175b90bcf5e5bc';

const ENVELOPE =
  '01011673706163655f30313233343536373839616263646566' + // version, kind, space id
  '01' + // epoch
  'bc7cbcb5636375fa1d82434d466724d92377f53b980695dd49d26d0ce12205a5' + // author
  '2a01' + // stream 42, counter 1
  '0000000000000000000000000000000000000000000000000000000000000000' + // prev
  '6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e' + // nonce
  '15' + // ciphertext length: 5 + 16
  '12f538e3de341d028d07e11198aafe9e20c80b56a6' + // ciphertext and tag
  '36131bb769371048bba7d4caec7cf542d8cb59848ef71cfc011bd2d523089356' + // signature
  '42aa8fc464642a2709af4ce6180447899694001c24e728ac2012195a8b1d260e';
