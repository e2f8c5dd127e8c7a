import { EnvelopeKind, ZERO_HASH, type SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { openEnvelope, sealEnvelope } from './envelopes.js';
import { SealedError } from './errors.js';
import { newDeviceIdentity } from './identity.js';
import { newSpaceKey, SpaceKeyring } from './SpaceKeyring.js';
import { StreamChains } from './StreamChains.js';
import { StreamWriter } from './StreamWriter.js';

const keyring = new SpaceKeyring('space_0123456789abcdef' as SpaceId);
keyring.add(1, newSpaceKey());
const identity = newDeviceIdentity();

function write(writer: StreamWriter, text: string) {
  const sealed = sealEnvelope({
    identity,
    keyring,
    kind: EnvelopeKind.update,
    ...writer.next(),
    payload: new TextEncoder().encode(text),
  });
  writer.advance(sealed);
  return sealed;
}

describe('StreamWriter', () => {
  it('starts a stream at counter 1 with no predecessor', () => {
    expect(new StreamWriter(42).next()).toEqual({ stream: 42, counter: 1, prev: ZERO_HASH });
  });

  it('writes a chain that a reader accepts, across a reload of the writer', () => {
    const reader = new StreamChains();
    let writer = new StreamWriter(42);
    for (let i = 0; i < 6; i++) {
      if (i === 3) writer = StreamWriter.restore(JSON.parse(JSON.stringify(writer.toStored())));
      const { bytes } = write(writer, `edit ${i}`);
      const opened = openEnvelope(bytes, keyring);
      expect(reader.accept(opened.envelope, opened.hash)).toEqual({ ok: true });
    }
    expect(reader.head(42)?.counter).toBe(6);
  });

  it('refuses to advance past an envelope it did not hand out', () => {
    const writer = new StreamWriter(42);
    const other = new StreamWriter(43);
    const sealed = write(other, 'not mine');
    expect(() => writer.advance(sealed)).toThrow(SealedError);
    write(writer, 'one');
    const stale = sealEnvelope({
      identity,
      keyring,
      kind: EnvelopeKind.update,
      stream: 42,
      counter: 1,
      payload: new Uint8Array(),
    });
    expect(() => writer.advance(stale)).toThrow(SealedError);
    expect(writer.next().counter).toBe(2);
  });

  it('refuses a stored writer that is not one', () => {
    for (const bad of [
      {},
      { v: 1, stream: -1, counter: 0, hash: '' },
      { v: 1, stream: 1, counter: 0, hash: 'AAAA' },
      { v: 1, stream: 2 ** 32, counter: 0, hash: 'A'.repeat(43) },
    ]) {
      expect(() => StreamWriter.restore(bad)).toThrow(SealedError);
    }
  });

  it('finishes an envelope still being signed before it hands out the next place, once', () => {
    const writer = new StreamWriter(42);
    const place = writer.next();
    let finished = 0;
    writer.hold(() => {
      finished++;
      writer.advance(
        sealEnvelope({
          identity,
          keyring,
          kind: EnvelopeKind.update,
          ...place,
          payload: new Uint8Array(1),
        }),
      );
    });
    expect(writer.next().counter).toBe(2);
    expect(finished).toBe(1);
    expect(write(writer, 'after').header.counter).toBe(2);
    expect(finished).toBe(1);
  });
});
