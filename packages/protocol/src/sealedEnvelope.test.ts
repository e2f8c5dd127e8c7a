import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  EnvelopeFormatError,
  EnvelopeKind,
  readEnvelopeHeader,
  ZERO_HASH,
} from './sealedEnvelope.js';
import { bytes, envelopeOf, garbled, header, spaceId } from './envelopes.testkit.js';

/** What decodeEnvelope makes of `raw`: its header fields, or the error it throws. */
function decoded(raw: Uint8Array) {
  try {
    const {
      nonce: _nonce,
      ciphertext,
      signature: _signature,
      headerBytes: _headerBytes,
      signedBytes: _signedBytes,
      ...h
    } = decodeEnvelope(raw);
    return { ...h, ciphertextBytes: ciphertext.byteLength };
  } catch (error) {
    return { error };
  }
}

function outlined(raw: Uint8Array) {
  try {
    return { ...readEnvelopeHeader(raw) };
  } catch (error) {
    return { error };
  }
}

describe('reading only an envelope’s header', () => {
  it('reads the header and the ciphertext’s size as the full decode does', () => {
    const raw = envelopeOf(header(), bytes(300, 1));
    const read = readEnvelopeHeader(raw);
    expect(read.kind).toBe(EnvelopeKind.update);
    expect(read.spaceId).toBe(spaceId);
    expect(read.epoch).toBe(1);
    expect([...read.author]).toEqual([...bytes(32, 7)]);
    expect(read.stream).toBe(123456);
    expect(read.counter).toBe(2);
    expect([...read.prev]).toEqual([...bytes(32, 9)]);
    expect(read.covers).toBeNull();
    expect(read.ciphertextBytes).toBe(300);
    expect(outlined(raw)).toEqual(decoded(raw));
  });

  it('reads what a snapshot covers', () => {
    const covers = { seq: 300, hash: bytes(32, 4) };
    const raw = envelopeOf(
      header({ kind: EnvelopeKind.snapshot, counter: 0, prev: ZERO_HASH, covers }),
    );
    const read = readEnvelopeHeader(raw);
    expect(read.covers?.seq).toBe(300);
    expect([...read.covers!.hash]).toEqual([...bytes(32, 4)]);
  });

  it('returns views into the envelope, not copies', () => {
    const raw = envelopeOf(header());
    const read = readEnvelopeHeader(raw);
    expect(read.author.buffer).toBe(raw.buffer);
    expect(read.prev.buffer).toBe(raw.buffer);
  });

  it('refuses every truncation with an EnvelopeFormatError that says it was cut short', () => {
    const raw = envelopeOf(header());
    for (let n = 0; n < raw.length; n++) {
      expect(() => readEnvelopeHeader(raw.subarray(0, n))).toThrow(EnvelopeFormatError);
      expect(() => readEnvelopeHeader(raw.subarray(0, n))).toThrow(/cut short/);
    }
  });

  it('refuses bytes after the signature', () => {
    const raw = envelopeOf(header());
    const longer = new Uint8Array(raw.length + 1);
    longer.set(raw);
    expect(() => readEnvelopeHeader(longer)).toThrow(/after the signature/);
  });

  it('refuses a header the full decode refuses, with the same reason', () => {
    const raw = envelopeOf(header());
    const badVersion = raw.slice();
    badVersion[0] = 2;
    expect(() => readEnvelopeHeader(badVersion)).toThrow(/unknown envelope version 2/);
    const badKind = raw.slice();
    badKind[1] = 9;
    expect(() => readEnvelopeHeader(badKind)).toThrow(/unknown envelope kind 9/);
  });

  it('accepts exactly what the full decode accepts, and reads the same header', () => {
    const raw = envelopeOf(header());
    fc.assert(
      fc.property(garbled(raw), (input) => {
        const read = outlined(input);
        const full = decoded(input);
        if ('error' in read) expect(read.error).toBeInstanceOf(EnvelopeFormatError);
        expect('error' in read).toBe('error' in full);
        if (!('error' in read)) expect(read).toEqual(full);
      }),
    );
  });
});
