import {
  decodeEnvelope,
  encodeEnvelope,
  encodeEnvelopeHeader,
  encodeSignedPart,
  EnvelopeKind,
  type SpaceId,
} from '@mend/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes } from './bytes.js';
import { aeadSeal, sha256, sign } from './crypto.js';
import {
  decryptEnvelope,
  openEnvelope,
  sealEnvelope,
  verifyEnvelope,
  verifyEnvelopeAhead,
} from './envelopes.js';
import { SealedError, SealedErrorReason } from './errors.js';
import { newDeviceIdentity } from './identity.js';
import { newSpaceKey, SpaceKeyring } from './SpaceKeyring.js';

const spaceId = 'space_0123456789abcdef' as SpaceId;
const otherSpaceId = 'space_fedcba9876543210' as SpaceId;
const ascii = (s: string) => new TextEncoder().encode(s);

function space(id: SpaceId = spaceId, key = newSpaceKey()) {
  const keyring = new SpaceKeyring(id);
  keyring.add(1, key);
  return { keyring, key, identity: newDeviceIdentity() };
}

function failure(fn: () => unknown): SealedError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SealedError) return error;
    throw new Error(`expected a SealedError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a SealedError, got a result');
}

/** An update in the middle of its stream, for tests that read or change its bytes. */
function sundays(payload = ascii('we agreed to talk on Sundays')) {
  const { keyring, identity } = space();
  const sealed = sealEnvelope({
    identity,
    keyring,
    kind: EnvelopeKind.update,
    stream: 77,
    counter: 2,
    prev: new Uint8Array(32).fill(5),
    payload,
  });
  return { keyring, sealed };
}

const kinds = [
  EnvelopeKind.update,
  EnvelopeKind.member,
  EnvelopeKind.keys,
  EnvelopeKind.presence,
] as const;

describe('sealing and opening envelopes', () => {
  it('opens what it sealed: same header, same payload, same hash', () => {
    const { keyring, identity } = space();
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.uint8Array({ maxLength: 300 }),
        (kind, stream, counter, payload) => {
          const sealed = sealEnvelope({ identity, keyring, kind, stream, counter, payload });
          const opened = openEnvelope(sealed.bytes, keyring);
          expect(opened.payload).toEqual(payload);
          expect(opened.hash).toEqual(sealed.hash);
          expect(opened.envelope.author).toEqual(identity.signing.publicKey);
          expect(opened.envelope).toMatchObject(sealed.header);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('seals a snapshot with what it covers', () => {
    const { keyring, identity } = space();
    const covers = { seq: 300, hash: new Uint8Array(32).fill(3) };
    const sealed = sealEnvelope({
      identity,
      keyring,
      kind: EnvelopeKind.snapshot,
      stream: 9,
      counter: 0,
      covers,
      payload: ascii('state'),
    });
    const opened = openEnvelope(sealed.bytes, keyring);
    expect(opened.envelope.covers).toEqual(covers);
    expect(opened.payload).toEqual(ascii('state'));
  });

  it('flipping any bit of a sealed envelope makes opening fail with a SealedError', () => {
    const { keyring, sealed } = sundays();
    const bits = sealed.bytes.length * 8;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bits - 1 }), (bit) => {
        const flipped = sealed.bytes.slice();
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        const error = failure(() => openEnvelope(flipped, keyring));
        expect(Object.values(SealedErrorReason)).toContain(error.reason);
      }),
      { numRuns: 300 },
    );
  });

  it('cutting or extending a sealed envelope makes opening fail with a SealedError', () => {
    const { keyring, identity } = space();
    const sealed = sealEnvelope({
      identity,
      keyring,
      kind: EnvelopeKind.update,
      stream: 77,
      counter: 1,
      payload: ascii('hello'),
    });
    for (let n = 0; n < sealed.bytes.length; n++) {
      expect(failure(() => openEnvelope(sealed.bytes.subarray(0, n), keyring)).reason).toBe(
        SealedErrorReason.malformed,
      );
    }
    expect(failure(() => openEnvelope(Uint8Array.of(...sealed.bytes, 0), keyring)).reason).toBe(
      SealedErrorReason.malformed,
    );
  });

  it('arbitrary bytes never open and never throw anything but a SealedError', () => {
    const { keyring } = space();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(failure(() => openEnvelope(bytes, keyring))).toBeInstanceOf(SealedError);
      }),
    );
  });
});

describe('what an envelope is bound to', () => {
  it('an envelope of another space fails as otherSpace, even with the same space key', () => {
    const mine = space();
    const theirs = space(otherSpaceId, mine.key);
    const sealed = sealEnvelope({
      ...theirs,
      kind: EnvelopeKind.update,
      stream: 1,
      counter: 1,
      payload: ascii('x'),
    });
    expect(failure(() => openEnvelope(sealed.bytes, mine.keyring)).reason).toBe(
      SealedErrorReason.otherSpace,
    );
  });

  it('an envelope of an epoch this device does not hold fails as unknownEpoch', () => {
    const { keyring, identity } = space();
    const later = new SpaceKeyring(spaceId);
    later.add(2, newSpaceKey());
    const sealed = sealEnvelope({
      identity,
      keyring: later,
      kind: EnvelopeKind.update,
      stream: 1,
      counter: 1,
      payload: ascii('x'),
    });
    expect(failure(() => openEnvelope(sealed.bytes, keyring)).reason).toBe(
      SealedErrorReason.unknownEpoch,
    );
  });

  it('an envelope signed by its author but sealed with another key fails as badCiphertext', () => {
    const { keyring, identity } = space();
    const stranger = space();
    // A device without this space's key writes a well-formed, well-signed envelope.
    const headerBytes = encodeEnvelopeHeader({
      version: 1,
      kind: EnvelopeKind.update,
      spaceId,
      epoch: 1,
      author: identity.signing.publicKey,
      stream: 4,
      counter: 1,
      prev: new Uint8Array(32),
      covers: null,
    });
    const { nonce, ciphertext } = aeadSeal(
      stranger.keyring.get(1)!.content,
      ascii('forged'),
      headerBytes,
    );
    const signed = encodeSignedPart(headerBytes, nonce, ciphertext);
    const signature = sign(
      identity.signing.secretKey,
      concatBytes(ascii('mend/v1/envelope\0'), sha256(signed)),
    );
    expect(failure(() => openEnvelope(encodeEnvelope(signed, signature), keyring)).reason).toBe(
      SealedErrorReason.badCiphertext,
    );
  });

  it('verified ahead, an envelope opens the same, and the later check is a lookup of its bytes', async () => {
    const { keyring, sealed } = sundays();
    await verifyEnvelopeAhead(sealed.bytes, spaceId);
    const first = verifyEnvelope(sealed.bytes, spaceId);
    expect(verifyEnvelope(sealed.bytes, spaceId)).toBe(first);
    expect(first.hash).toEqual(sealed.hash);
    expect(openEnvelope(sealed.bytes, keyring).payload).toEqual(
      ascii('we agreed to talk on Sundays'),
    );
    // Same bytes in another array: checked in full, the same verdict.
    expect(verifyEnvelope(sealed.bytes.slice(), spaceId)).not.toBe(first);
    expect(verifyEnvelope(sealed.bytes.slice(), spaceId).hash).toEqual(sealed.hash);
    // Vouched for in one space, still refused in another.
    expect(failure(() => verifyEnvelope(sealed.bytes, otherSpaceId)).reason).toBe(
      SealedErrorReason.otherSpace,
    );
  });

  it('verified ahead, a large envelope (hashed by the platform) has the hash the full check gives', async () => {
    const payload = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    const { keyring, sealed } = sundays(payload);
    await verifyEnvelopeAhead(sealed.bytes, spaceId);
    const ahead = verifyEnvelope(sealed.bytes, spaceId);
    expect(verifyEnvelope(sealed.bytes, spaceId)).toBe(ahead); // vouched for: a lookup
    expect(ahead.hash).toEqual(sealed.hash);
    expect(ahead.hash).toEqual(verifyEnvelope(sealed.bytes.slice(), spaceId).hash);
    expect(decryptEnvelope(ahead, keyring)).toEqual(payload);
  });

  it('verifying ahead never lets through what the full check refuses, and never throws', async () => {
    const { keyring, sealed } = sundays();
    const bits = sealed.bytes.length * 8;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bits - 1 }), async (bit) => {
        const flipped = sealed.bytes.slice();
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        await verifyEnvelopeAhead(flipped, spaceId);
        const error = failure(() => openEnvelope(flipped, keyring));
        expect(Object.values(SealedErrorReason)).toContain(error.reason);
      }),
      { numRuns: 200 },
    );
    const other = newDeviceIdentity();
    const forged = sealed.bytes.slice();
    forged.set(other.signing.publicKey, decodeEnvelope(forged).author.byteOffset);
    await verifyEnvelopeAhead(forged, spaceId);
    expect(failure(() => openEnvelope(forged, keyring)).reason).toBe(
      SealedErrorReason.badSignature,
    );
    await verifyEnvelopeAhead(ascii('not an envelope at all'), spaceId);
  });

  it('an envelope whose author is replaced by another device fails as badSignature', () => {
    const { keyring, identity } = space();
    const other = newDeviceIdentity();
    const sealed = sealEnvelope({
      identity,
      keyring,
      kind: EnvelopeKind.update,
      stream: 1,
      counter: 1,
      payload: ascii('x'),
    });
    const forged = sealed.bytes.slice();
    const authorAt = decodeEnvelope(forged).author.byteOffset;
    forged.set(other.signing.publicKey, authorAt);
    expect(failure(() => openEnvelope(forged, keyring)).reason).toBe(
      SealedErrorReason.badSignature,
    );
  });

  it('checks the signature before the epoch: a forged envelope never reaches the keyring', () => {
    const { keyring, identity } = space();
    const later = new SpaceKeyring(spaceId);
    later.add(2, newSpaceKey());
    const sealed = sealEnvelope({
      identity,
      keyring: later,
      kind: EnvelopeKind.update,
      stream: 1,
      counter: 1,
      payload: ascii('x'),
    });
    const forged = sealed.bytes.slice();
    forged[forged.length - 1]! ^= 1;
    expect(failure(() => openEnvelope(forged, keyring)).reason).toBe(
      SealedErrorReason.badSignature,
    );
  });

  it('presence is sealed with the presence key, not the content key', () => {
    const { keyring, identity } = space();
    const sealed = sealEnvelope({
      identity,
      keyring,
      kind: EnvelopeKind.presence,
      stream: 1,
      counter: 5,
      payload: ascii('{"cursor":3}'),
    });
    const verified = verifyEnvelope(sealed.bytes, spaceId);
    expect(decryptEnvelope(verified, keyring)).toEqual(ascii('{"cursor":3}'));
    const asUpdate = { ...verified, envelope: { ...verified.envelope, kind: EnvelopeKind.update } };
    expect(failure(() => decryptEnvelope(asUpdate, keyring)).reason).toBe(
      SealedErrorReason.badCiphertext,
    );
  });
});

describe('sealing refuses what no reader would accept', () => {
  it('an epoch the keyring does not hold', () => {
    const { keyring, identity } = space();
    const error = failure(() =>
      sealEnvelope({
        identity,
        keyring,
        epoch: 3,
        kind: EnvelopeKind.update,
        stream: 1,
        counter: 1,
        payload: ascii('x'),
      }),
    );
    expect(error.reason).toBe(SealedErrorReason.unknownEpoch);
  });

  it('an update at counter 0, or a first envelope that names a predecessor', () => {
    const { keyring, identity } = space();
    const base = { identity, keyring, kind: EnvelopeKind.update, stream: 1, payload: ascii('x') };
    expect(failure(() => sealEnvelope({ ...base, counter: 0 })).reason).toBe(
      SealedErrorReason.malformed,
    );
    expect(
      failure(() => sealEnvelope({ ...base, counter: 1, prev: new Uint8Array(32).fill(1) })).reason,
    ).toBe(SealedErrorReason.malformed);
  });
});
