import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SpaceId } from './ids.js';
import {
  decodeEnvelope,
  encodeEnvelopeHeader,
  EnvelopeFormatError,
  EnvelopeKind,
  ZERO_HASH,
} from './sealedEnvelope.js';
import { bytes, envelopeOf, garbled, header, spaceId } from './envelopes.testkit.js';
import {
  decodeDeviceMessage,
  decodeServerMessage,
  encodeDeviceMessage,
  encodeServerMessage,
  SealedMessage,
  SealedWireError,
  type DeviceMessage,
  type ServerMessage,
} from './sealedWire.js';

describe('sealed envelopes', () => {
  it('reads back every field it wrote, with the header and signed part as the signer saw them', () => {
    const h = header({
      kind: EnvelopeKind.snapshot,
      counter: 0,
      prev: ZERO_HASH,
      covers: { seq: 300, hash: bytes(32, 4) },
    });
    const raw = envelopeOf(h);
    const read = decodeEnvelope(raw);
    expect(read.kind).toBe(EnvelopeKind.snapshot);
    expect(read.spaceId).toBe(spaceId);
    expect(read.stream).toBe(123456);
    expect(read.covers?.seq).toBe(300);
    expect([...read.covers!.hash]).toEqual([...bytes(32, 4)]);
    expect([...read.headerBytes]).toEqual([...encodeEnvelopeHeader(h)]);
    expect(read.signedBytes.length).toBe(raw.length - 64);
    expect([...read.signature]).toEqual([...bytes(64, 8)]);
    expect([...read.ciphertext]).toEqual([...bytes(40, 3)]);
  });

  it('refuses headers no reader would accept, before anything is written', () => {
    expect(() => encodeEnvelopeHeader(header({ counter: 1 }))).toThrow(EnvelopeFormatError);
    expect(() => encodeEnvelopeHeader(header({ counter: 0 }))).toThrow(/start at 1/);
    expect(() => encodeEnvelopeHeader(header({ epoch: 0 }))).toThrow(/epochs/);
    expect(() => encodeEnvelopeHeader(header({ stream: 2 ** 32 }))).toThrow(/client id/);
    expect(() => encodeEnvelopeHeader(header({ author: bytes(31, 1) }))).toThrow(/32 bytes/);
    expect(() => encodeEnvelopeHeader(header({ spaceId: 'x' as SpaceId }))).toThrow(/space id/);
    expect(() =>
      encodeEnvelopeHeader(header({ kind: EnvelopeKind.snapshot, counter: 0, prev: ZERO_HASH })),
    ).toThrow(/covers/);
    expect(() => encodeEnvelopeHeader(header({ covers: { seq: 1, hash: bytes(32, 1) } }))).toThrow(
      /only a snapshot/,
    );
  });

  it('refuses every truncation and any trailing byte with an EnvelopeFormatError', () => {
    const raw = envelopeOf(header());
    for (let n = 0; n < raw.length; n++) {
      expect(() => decodeEnvelope(raw.subarray(0, n))).toThrow(EnvelopeFormatError);
    }
    const longer = new Uint8Array(raw.length + 1);
    longer.set(raw);
    expect(() => decodeEnvelope(longer)).toThrow(/after the signature/);
  });

  it('never throws anything but an EnvelopeFormatError, whatever the bytes', () => {
    const raw = envelopeOf(header());
    fc.assert(
      fc.property(garbled(raw), (input) => {
        try {
          decodeEnvelope(input);
        } catch (error) {
          expect(error).toBeInstanceOf(EnvelopeFormatError);
        }
      }),
    );
  });
});

describe('sealed socket messages', () => {
  const envelope = envelopeOf(header());

  it('round-trips every message a device sends', () => {
    const messages: DeviceMessage[] = [
      { type: SealedMessage.hello, since: 0, stream: 0xffff_ffff },
      { type: SealedMessage.hello, since: 2 ** 40, stream: 1 },
      { type: SealedMessage.submit, envelope },
      { type: SealedMessage.presence, envelope },
      { type: SealedMessage.snapshot, envelope },
    ];
    for (const m of messages) expect(decodeDeviceMessage(encodeDeviceMessage(m))).toEqual(m);
  });

  it('round-trips every message the server sends', () => {
    const messages: ServerMessage[] = [
      {
        type: SealedMessage.backlog,
        head: 9,
        last: true,
        entries: [
          { seq: 3, envelope },
          { seq: 4, envelope },
        ],
      },
      { type: SealedMessage.backlog, head: 0, last: false, entries: [] },
      { type: SealedMessage.envelope, seq: 10, envelope },
      { type: SealedMessage.ack, stream: 77, counter: 3, seq: 0 },
      { type: SealedMessage.presenceRelay, envelope },
      { type: SealedMessage.left, author: bytes(32, 2), stream: 5 },
      { type: SealedMessage.snapshotResult, coversSeq: 300, stored: false, reason: 'stale' },
    ];
    for (const m of messages) expect(decodeServerMessage(encodeServerMessage(m))).toEqual(m);
  });

  it('refuses unknown types, the other side’s messages, short reads and trailing bytes', () => {
    const hello = encodeDeviceMessage({ type: SealedMessage.hello, since: 1, stream: 2 });
    expect(() => decodeServerMessage(hello)).toThrow(/unknown message type 16/);
    const ack = encodeServerMessage({ type: SealedMessage.ack, stream: 1, counter: 1, seq: 1 });
    expect(() => decodeDeviceMessage(ack)).toThrow(/unknown message type 34/);
    expect(() => decodeDeviceMessage(hello.subarray(0, 2))).toThrow(SealedWireError);
    expect(() => decodeDeviceMessage(new Uint8Array([...hello, 0]))).toThrow(/after the message/);
    expect(() =>
      decodeDeviceMessage(
        encodeDeviceMessage({ type: SealedMessage.hello, since: 1, stream: 2 ** 32 }),
      ),
    ).toThrow(/32 bits/);
  });

  it('never throws anything but a SealedWireError, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (input) => {
        for (const decode of [decodeDeviceMessage, decodeServerMessage]) {
          try {
            decode(input);
          } catch (error) {
            expect(error).toBeInstanceOf(SealedWireError);
          }
        }
      }),
    );
  });
});
