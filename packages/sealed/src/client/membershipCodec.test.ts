import { EnvelopeKind, type PartnerId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { openEnvelope, sealEnvelope } from '../envelopes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { newDeviceIdentity } from '../identity.js';
import { newSeatSecret, SEAT_SECRET_BYTES } from '../reveal.js';
import { newSpaceKey, SpaceKeyring } from '../SpaceKeyring.js';
import { decodeMembership, encodeMembership } from './membershipCodec.js';
import type { SealedMembership } from './sealedSpaces.js';
import { spaceId } from './testing/sealedSpace.js';

function membership(): SealedMembership {
  const keyring = new SpaceKeyring(spaceId);
  keyring.add(1, newSpaceKey());
  keyring.add(2, newSpaceKey());
  return {
    spaceId,
    partnerId: 'partnerAAAAAAAAAAAAA' as PartnerId,
    token: 'a-device-token',
    identity: newDeviceIdentity(),
    keyring,
    creator: newDeviceIdentity().signing.publicKey,
    seatSecret: newSeatSecret(),
  };
}

/** The bytes version 1 wrote: the same layout, version 1, and no seat secret at the end. */
function asVersion1(m: SealedMembership): Uint8Array {
  const bytes = encodeMembership(m).slice(0, -SEAT_SECRET_BYTES);
  bytes[16] = 1; // the version, after the 16-byte label
  return bytes;
}

function includes(haystack: Uint8Array, needle: Uint8Array): boolean {
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (needle.every((b, j) => haystack[i + j] === b)) return true;
  }
  return false;
}

function refusal(bytes: Uint8Array): SealedError {
  try {
    decodeMembership(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(SealedError);
    return error as SealedError;
  }
  throw new Error('decoded');
}

describe('a membership as stored', () => {
  it('comes back as a membership that seals and opens what the original does', () => {
    const m = membership();
    const back = decodeMembership(encodeMembership(m));
    expect(back).toMatchObject({ spaceId, partnerId: m.partnerId, token: m.token });
    expect(back.identity).toEqual(m.identity);
    expect(back.creator).toEqual(m.creator);
    expect(back.keyring.toStored()).toEqual(m.keyring.toStored());
    expect(back.seatSecret).toEqual(m.seatSecret);
    const sealed = sealEnvelope({
      identity: back.identity,
      keyring: back.keyring,
      kind: EnvelopeKind.update,
      stream: 7,
      counter: 1,
      prev: new Uint8Array(32),
      payload: Uint8Array.of(1, 2, 3),
    });
    expect(openEnvelope(sealed.bytes, m.keyring).payload).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('refuses bytes cut short, with more after them, of another kind or version', () => {
    const bytes = encodeMembership(membership());
    for (let n = 0; n < bytes.length; n++) {
      expect(refusal(bytes.subarray(0, n)).reason, `cut at ${n}`).toBe(SealedErrorReason.malformed);
    }
    expect(refusal(Uint8Array.from([...bytes, 0])).message).toMatch(/bytes follow/);
    expect(refusal(new TextEncoder().encode('{"v":1}')).message).toMatch(/not a membership/);
    const future = bytes.slice();
    future[16] = 4; // the version, after the 16-byte label
    expect(refusal(future).message).toMatch(/version 4/);
  });

  it('keeps only the public half of a signing key the platform holds, and nothing of its bytes', () => {
    const m = membership();
    const held = {
      ...m,
      identity: { ...m.identity, signing: { ...m.identity.signing, secretKey: null } },
    };
    const bytes = encodeMembership(held);
    expect(bytes[16]).toBe(3); // the version, after the 16-byte label
    expect(bytes.length).toBe(encodeMembership(m).length - 32);
    expect(includes(bytes, m.identity.signing.secretKey!)).toBe(false);
    const back = decodeMembership(bytes);
    expect(back.identity.signing).toEqual({
      secretKey: null,
      publicKey: m.identity.signing.publicKey,
    });
    expect(back.identity.agreement).toEqual(m.identity.agreement);
    expect(back.keyring.toStored()).toEqual(m.keyring.toStored());
    expect(back.seatSecret).toEqual(m.seatSecret);
    expect(encodeMembership(back as SealedMembership)).toEqual(bytes);
    for (let n = 0; n < bytes.length; n++) {
      expect(refusal(bytes.subarray(0, n)).reason, `cut at ${n}`).toBe(SealedErrorReason.malformed);
    }
    // A version-2 membership relabelled 3 is refused: its keys no longer match each other.
    const relabelled = encodeMembership(m);
    relabelled[16] = 3;
    expect(refusal(relabelled).reason).toBe(SealedErrorReason.badKey);
  });

  it('reads a membership stored before seat secrets, with none, and refuses one cut short', () => {
    const m = membership();
    const old = decodeMembership(asVersion1(m));
    expect(old.seatSecret).toBeNull();
    expect(old.identity).toEqual(m.identity);
    expect(old.creator).toEqual(m.creator);
    // A version-2 membership missing its seat secret is cut short, not an old one.
    expect(refusal(encodeMembership(m).slice(0, -SEAT_SECRET_BYTES)).reason).toBe(
      SealedErrorReason.malformed,
    );
    // A version-1 membership with 32 bytes more is not read as if it had a seat secret.
    expect(refusal(Uint8Array.from([...asVersion1(m), ...m.seatSecret])).message).toMatch(
      /bytes follow/,
    );
  });

  it('refuses keys that do not match each other', () => {
    const m = membership();
    const wrong = {
      ...m,
      identity: { ...m.identity, signing: { ...m.identity.signing, publicKey: m.creator } },
    };
    expect(refusal(encodeMembership(wrong)).reason).toBe(SealedErrorReason.badKey);
  });
});
