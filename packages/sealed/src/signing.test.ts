import { EnvelopeKind, type SpaceId } from '@mend/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { platformSigningKeys, sha256, signSoon } from './crypto.js';
import { openEnvelope, sealSoon, Signing, type SealedEnvelope } from './envelopes.js';
import { newDeviceIdentity } from './identity.js';
import { newSpaceKey, SpaceKeyring } from './SpaceKeyring.js';
import { StreamWriter } from './StreamWriter.js';
import { slowPlatformSigning } from './client/testing/platform.js';

/**
 * `Signing`: a device's own envelopes sealed one after another in the order they were asked
 * for, each signed by the platform's Ed25519 (Node has one), none by noble while the platform
 * signs unless the page goes or something outside needs a stream's next place.
 */

const spaceId = 'space_0123456789abcdef' as SpaceId;
const ascii = (s: string) => new TextEncoder().encode(s);

afterEach(() => vi.restoreAllMocks());

/**
 * A device whose key the platform is ready to sign with (`held`: the platform holds it alone),
 * its keyring, and what it sealed; `ask` with `change` seals a page's change.
 */
async function device({ held = false } = {}) {
  const keyring = new SpaceKeyring(spaceId);
  keyring.add(1, newSpaceKey());
  const made = newDeviceIdentity();
  const identity = held ? { ...made, signing: (await platformSigningKeys(made.signing))! } : made;
  signSoon(identity.signing, new Uint8Array(0));
  await vi.waitFor(() => expect(signSoon(identity.signing, new Uint8Array(0))).not.toBeNull());
  const signing = new Signing();
  const sealed: SealedEnvelope[] = [];
  const ask = (
    writer: StreamWriter,
    text: string,
    kind: EnvelopeKind = EnvelopeKind.update,
    change = false,
  ) =>
    signing.sealNext(
      writer,
      { identity, keyring, kind, payload: ascii(text) },
      (envelope) => sealed.push(envelope),
      change ? ascii(text) : undefined,
    );
  return { keyring, identity, signing, sealed, ask };
}

const texts = (keyring: SpaceKeyring, sealed: readonly SealedEnvelope[]) =>
  sealed.map((e) => new TextDecoder().decode(openEnvelope(e.bytes, keyring).payload));

describe('Signing', () => {
  it('seals in the order asked, across streams, each by the platform, however late its signature', async () => {
    const { keyring, signing, sealed, ask } = await device();
    const subtle = globalThis.crypto.subtle;
    const real = subtle.sign.bind(subtle);
    let calls = 0;
    // The first signature comes late; the ones after it at once.
    const platform = vi.spyOn(subtle, 'sign').mockImplementation(async (...args) => {
      if (calls++ === 0) await new Promise((resolve) => setTimeout(resolve, 30));
      return real(...args);
    });
    const one = new StreamWriter(1);
    const two = new StreamWriter(2);
    ask(one, 'a');
    ask(two, 'b');
    ask(one, 'c');
    expect(signing.size).toBe(3);
    expect(sealed).toEqual([]);
    await vi.waitFor(() => expect(sealed).toHaveLength(3));
    expect(signing.size).toBe(0);
    expect(texts(keyring, sealed)).toEqual(['a', 'b', 'c']);
    expect(sealed.map((e) => [e.header.stream, e.header.counter])).toEqual([
      [1, 1],
      [2, 1],
      [1, 2],
    ]);
    expect(sealed[2]!.header.prev).toEqual(sha256(sealed[0]!.bytes));
    expect(platform).toHaveBeenCalledTimes(3);
  });

  it('seals everything still waiting when asked to finish, in order, and what that asks for too', async () => {
    const { keyring, identity, signing, sealed, ask } = await device();
    const writer = new StreamWriter(7);
    ask(writer, 'first');
    ask(writer, 'second');
    // Sealing the second asks for a third, as a statement after a change would.
    signing.sealNext(
      writer,
      { identity, keyring, kind: EnvelopeKind.update, payload: ascii('x') },
      (e) => {
        sealed.push(e);
        ask(writer, 'asked while finishing');
      },
    );
    signing.finishAll();
    expect(texts(keyring, sealed)).toEqual(['first', 'second', 'x', 'asked while finishing']);
    expect(sealed.map((e) => e.header.counter)).toEqual([1, 2, 3, 4]);
    expect(signing.size).toBe(0);
    // The platform's late signature of the first changes nothing.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sealed).toHaveLength(4);
  });

  it('gives a stream’s next place after everything this stream was signing or waiting for', async () => {
    const { keyring, sealed, ask } = await device();
    const writer = new StreamWriter(3);
    ask(writer, 'one');
    ask(writer, 'two');
    // Something outside the queue (changes held offline) needs the stream's next place now.
    const next = writer.next();
    expect(texts(keyring, sealed)).toEqual(['one', 'two']);
    expect(next.counter).toBe(3);
    expect(next.prev).toEqual(sha256(sealed[1]!.bytes));
  });

  it('runs work asked for after envelopes once they are sealed, and at once when nothing waits', async () => {
    const { keyring, signing, sealed, ask } = await device();
    const order: string[] = [];
    signing.after(() => order.push('nothing waited'));
    expect(order).toEqual(['nothing waited']);
    const writer = new StreamWriter(5);
    ask(writer, 'first');
    signing.after(() => order.push(`after ${texts(keyring, sealed).join(', ')}`));
    expect(signing.size).toBe(1);
    expect(order).toHaveLength(1);
    await vi.waitFor(() => expect(order).toEqual(['nothing waited', 'after first']));
  });
});

describe('Signing, with a key the platform holds alone', () => {
  it('takes back the changes still waiting, the one being signed too, and goes on with the rest', async () => {
    const { keyring, signing, sealed, ask } = await device({ held: true });
    slowPlatformSigning(30);
    const one = new StreamWriter(1);
    const two = new StreamWriter(2);
    ask(one, 'first change', EnvelopeKind.update, true); // being signed
    ask(one, 'a statement', EnvelopeKind.member);
    ask(two, 'elsewhere', EnvelopeKind.update, true);
    ask(one, 'second change', EnvelopeKind.update, true);
    const taken = signing.takeBack((stream) => stream === 1);
    expect(taken.map(({ stream, change }) => [stream, new TextDecoder().decode(change)])).toEqual([
      [1, 'first change'],
      [1, 'second change'],
    ]);
    await vi.waitFor(() => expect(sealed).toHaveLength(2));
    // The first change's signature came and was dropped: the statement took its place.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(texts(keyring, sealed)).toEqual(['a statement', 'elsewhere']);
    expect(sealed.map((e) => [e.header.stream, e.header.counter])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect(signing.size).toBe(0);
    expect(one.next().counter).toBe(2);
  });

  it('takes back nothing that is not a change, or not of a stream asked for', async () => {
    const { signing, sealed, ask } = await device({ held: true });
    slowPlatformSigning(10);
    const one = new StreamWriter(1);
    ask(one, 'a statement', EnvelopeKind.member);
    ask(one, 'a held batch'); // sealed for what holds changes: no change of its own
    ask(new StreamWriter(2), 'elsewhere', EnvelopeKind.update, true);
    expect(signing.takeBack((stream) => stream === 1)).toEqual([]);
    await vi.waitFor(() => expect(sealed).toHaveLength(3));
  });

  it('cannot finish an envelope while the platform signs, and asks again after a refusal', async () => {
    const { keyring, identity } = await device({ held: true });
    const subtle = globalThis.crypto.subtle;
    const real = subtle.sign.bind(subtle);
    vi.spyOn(subtle, 'sign')
      .mockRejectedValueOnce(new DOMException('Busy', 'OperationError'))
      .mockImplementation(real);
    let sealed = 0;
    const input = { identity, keyring, kind: EnvelopeKind.update, stream: 1, counter: 1 };
    const finish = sealSoon({ ...input, payload: ascii('x') }, () => (sealed += 1));
    expect(finish).not.toBeNull();
    expect(() => finish!()).toThrow(/platform/);
    await vi.waitFor(() => expect(sealed).toBe(1));
    expect(subtle.sign).toHaveBeenCalledTimes(2);
    // Once sealed, finishing does nothing.
    finish!();
    expect(sealed).toBe(1);
  });
});
