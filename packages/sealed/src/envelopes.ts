import {
  decodeEnvelope,
  encodeEnvelope,
  encodeEnvelopeHeader,
  encodeSignedPart,
  ENVELOPE_VERSION,
  EnvelopeFormatError,
  EnvelopeKind,
  ZERO_HASH,
  type Envelope,
  type EnvelopeHeader,
  type SpaceId,
} from '@mend/protocol';
import { concatBytes } from './bytes.js';
import {
  aeadOpen,
  aeadSeal,
  sha256Continuable,
  sha256PrefixAndWhole,
  sign,
  signSoon,
  verify,
  vouchFor,
  type SigningKeys,
} from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import type { DeviceIdentity } from './identity.js';
import type { StreamWriter } from './StreamWriter.js';
import type { EpochKeys, SpaceKeyring } from './SpaceKeyring.js';

/**
 * Sealing and opening envelopes (docs/protocol.md, "Envelopes"): the payload is encrypted with
 * the header as associated data, then the SHA-256 of everything is signed by the author device. Opening checks
 * the layout, the space, the signature (before any decryption), the epoch and the ciphertext, in
 * that order, and fails with a SealedError naming the first check that failed.
 */

const SIGNATURE_CONTEXT = new TextEncoder().encode('mend/v1/envelope\0');

export interface SealInput {
  readonly identity: DeviceIdentity;
  readonly keyring: SpaceKeyring;
  readonly kind: EnvelopeKind;
  /** The key epoch to seal with; the keyring's newest when left out. */
  readonly epoch?: number;
  readonly stream: number;
  readonly counter: number;
  /** The stream's previous envelope's hash (`StreamWriter.next()`); zeros when left out. */
  readonly prev?: Uint8Array;
  /** Snapshots only. */
  readonly covers?: EnvelopeHeader['covers'];
  readonly payload: Uint8Array;
}

export interface SealedEnvelope {
  readonly bytes: Uint8Array;
  /** SHA-256 of `bytes`: what the stream's next envelope names as `prev`. */
  readonly hash: Uint8Array;
  readonly header: EnvelopeHeader;
}

/** An envelope signed at once, with noble: for a device that holds its signing key's bytes. */
export function sealEnvelope(input: SealInput): SealedEnvelope {
  const prepared = prepareEnvelope(input);
  return prepared.finish(sign(bytesOf(input.identity.signing), prepared.toSign));
}

function bytesOf(keys: SigningKeys): Uint8Array {
  if (keys.secretKey === null) throw new Error('a key the platform holds alone signs there');
  return keys.secretKey;
}

/** An envelope encrypted and laid out, waiting for its signature (`prepareEnvelope`). */
export interface PreparedEnvelope {
  readonly header: EnvelopeHeader;
  /** What the author device signs: the context string, then the SHA-256 of the signed part. */
  readonly toSign: Uint8Array;
  /** The envelope with `signature` (made over `toSign` with the author's key) in place. */
  finish(signature: Uint8Array): SealedEnvelope;
}

/**
 * `sealEnvelope` up to its signature, for a device that signs asynchronously (`signSoon`):
 * encrypted (its nonce drawn once, here), laid out and hashed. The same signature, whoever
 * makes it, finishes the same envelope.
 */
export function prepareEnvelope(input: SealInput): PreparedEnvelope {
  const { keyring, identity } = input;
  const keys = input.epoch === undefined ? keyring.latest : keyring.get(input.epoch);
  if (!keys) throw unknownEpoch(input.epoch ?? 0);
  const header: EnvelopeHeader = {
    version: ENVELOPE_VERSION,
    kind: input.kind,
    spaceId: keyring.spaceId,
    epoch: keys.epoch,
    author: identity.signing.publicKey,
    stream: input.stream,
    counter: input.counter,
    prev: input.prev ?? ZERO_HASH,
    covers: input.covers ?? null,
  };
  let headerBytes: Uint8Array;
  try {
    headerBytes = encodeEnvelopeHeader(header);
  } catch (error) {
    if (error instanceof EnvelopeFormatError) {
      throw new SealedError(SealedErrorReason.malformed, `Cannot seal this: ${error.message}.`);
    }
    throw error;
  }
  const { nonce, ciphertext } = aeadSeal(keyFor(header.kind, keys), input.payload, headerBytes);
  const signed = encodeSignedPart(headerBytes, nonce, ciphertext);
  const digest = sha256Continuable(signed);
  return {
    header,
    toSign: concatBytes(SIGNATURE_CONTEXT, digest.digest),
    finish: (signature) => ({
      bytes: encodeEnvelope(signed, signature),
      hash: digest.continueWith(signature),
      header,
    }),
  };
}

/**
 * `sealEnvelope`, handed to `sealed` once signed: by the platform's Ed25519 where it can
 * (`signSoon`: native, off the JavaScript thread, where noble's takes about a millisecond of a
 * keystroke on a laptop and several on a phone), a fraction of a millisecond later; where the
 * platform cannot sign yet, by noble's before this returns, and then it returns null. Otherwise
 * what it returns finishes the envelope at once with noble's signature, the same bytes (Ed25519
 * is deterministic); after `sealed` was called it does nothing.
 *
 * A key the platform holds alone is never finished with noble: the returned function throws
 * while the platform signs, and a signature the platform refuses is asked for again, a little
 * later each time (`RESIGN_MS`), so the envelope is sealed once the platform can.
 */
export function sealSoon(
  input: SealInput,
  sealed: (envelope: SealedEnvelope) => void,
): (() => void) | null {
  const prepared = prepareEnvelope(input);
  const keys = input.identity.signing;
  let done = false;
  const finish = (platform?: Uint8Array): void => {
    if (done) return;
    const signature = platform ?? sign(bytesOf(keys), prepared.toSign);
    done = true;
    sealed(prepared.finish(signature));
  };
  const ask = (wait: number): void => {
    const signature = signSoon(keys, prepared.toSign);
    if (signature === null) return finish();
    signature.then(
      (bytes) => finish(bytes),
      () => {
        if (keys.secretKey !== null) return finish();
        setTimeout(() => ask(Math.min(wait * 2, RESIGN_MS.most)), wait);
      },
    );
  };
  ask(RESIGN_MS.first);
  return done ? null : () => finish();
}

/** How long a key the platform holds alone waits to sign again after a refusal: doubling. */
const RESIGN_MS = { first: 100, most: 10_000 };

/**
 * A device's own envelopes, sealed one after another in the order they were asked for (`sealNext`),
 * each signed by the platform's Ed25519 where it has one. The next is laid out only once the one
 * before it is signed, so it follows it in its stream and in the order the server stores them:
 * a change on a new stream may build on the one before it, and every device refuses an update
 * whose dependencies the log lacks. What waits is counted (`size`); nothing is signed with noble
 * while the platform signs, unless something outside the queue needs a stream's next place
 * (`StreamWriter.hold`) or the page goes (`finishAll`).
 */
export class Signing {
  /** What waits, in order: envelopes to seal, and work to run once those before it are sealed. */
  readonly #queue: (SealJob | { readonly run: () => void })[] = [];
  /**
   * The envelope the platform is signing now, if any: `finish` finishes it with noble's
   * signature, `drop` drops the platform's when it comes.
   */
  #signing: {
    readonly job: SealJob;
    readonly finish: () => void;
    readonly drop: () => void;
  } | null = null;
  /** `finishAll` is sealing what waits: nothing new goes to the platform meanwhile. */
  #finishing = false;

  /** Envelopes asked for and not sealed yet: the one being signed and those behind it. */
  get size(): number {
    return this.#queue.filter((job) => !('run' in job)).length + (this.#signing ? 1 : 0);
  }

  /** Runs `run` once everything asked for before it is sealed (at once if nothing waits). */
  after(run: () => void): void {
    this.#queue.push({ run });
    this.#next();
  }

  /**
   * Seals the next envelope of `writer`'s stream once everything asked for before it is sealed,
   * and hands it to `sealed`: at once when nothing waits and the platform cannot sign (noble
   * signs), otherwise once signed. `writer` moves past it when it is sealed.
   */
  sealNext(
    writer: StreamWriter,
    input: Omit<SealInput, 'stream' | 'counter' | 'prev'>,
    sealed: (envelope: SealedEnvelope) => void,
    change?: Uint8Array,
  ): void {
    this.#queue.push({ writer, input, sealed, change });
    this.#next();
  }

  /**
   * Takes back, in the order they were asked for, the changes (`sealNext`'s `change`) still
   * waiting for their signature whose stream `mine` accepts, to be kept another way: held, when
   * the page may go and only the platform can sign (`LocalSealing.settle`). The one being signed
   * is taken back too: its signature is dropped when it comes, and its place in the stream stays
   * free. Everything else stays in line and goes on.
   */
  takeBack(mine: (stream: number) => boolean): { stream: number; change: Uint8Array }[] {
    const taken: { stream: number; change: Uint8Array }[] = [];
    const takes = (job: SealJob) => job.change !== undefined && mine(job.writer.stream);
    const current = this.#signing;
    if (current && takes(current.job)) {
      current.drop();
      // Its stream's next place is free again: nothing is to finish there.
      current.job.writer.hold(() => {});
      this.#signing = null;
      taken.push({ stream: current.job.writer.stream, change: current.job.change! });
    }
    const left = this.#queue.filter((job) => {
      if ('run' in job || !takes(job)) return true;
      taken.push({ stream: job.writer.stream, change: job.change! });
      return false;
    });
    this.#queue.splice(0, this.#queue.length, ...left);
    this.#next();
    return taken;
  }

  /** Seals everything still waiting, now, in order: noble signs what the platform has not. */
  finishAll(): void {
    this.#finishing = true;
    try {
      // Finishing the one being signed goes on with what waits behind it (`#next`).
      if (this.#signing) this.#signing.finish();
      else this.#next();
    } finally {
      this.#finishing = false;
    }
  }

  #next(): void {
    while (this.#signing === null && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      if ('run' in job) {
        job.run();
        continue;
      }
      const { writer, input, sealed } = job;
      const at = { ...input, ...writer.next() };
      // Null while signed at once: nothing waited on it.
      let finish: (() => void) | null = null;
      let dropped = false;
      const done = (envelope: SealedEnvelope): void => {
        if (dropped) return;
        writer.advance(envelope);
        if (finish === null) return sealed(envelope);
        this.#signing = null;
        sealed(envelope);
        this.#next();
      };
      if (this.#finishing) done(sealEnvelope(at));
      else finish = sealSoon(at, done);
      if (finish) {
        // Whatever else asks this stream for its next place finishes this one first.
        writer.hold(finish);
        this.#signing = { job, finish, drop: () => (dropped = true) };
      }
    }
  }
}

/** An envelope `Signing` is to seal; `change` is the page's change it carries, if one. */
interface SealJob {
  readonly writer: StreamWriter;
  readonly input: Omit<SealInput, 'stream' | 'counter' | 'prev'>;
  readonly sealed: (envelope: SealedEnvelope) => void;
  readonly change: Uint8Array | undefined;
}

/** An envelope whose layout, space and signature have been checked; its payload is still sealed. */
export interface VerifiedEnvelope {
  readonly envelope: Envelope;
  readonly hash: Uint8Array;
}

export interface OpenedEnvelope extends VerifiedEnvelope {
  readonly payload: Uint8Array;
}

/**
 * Envelopes whose signature the platform vouched for ahead of time (`verifyEnvelopeAhead`), by
 * their bytes: the same bytes handed to `verifyEnvelope` later skip noble's slower check.
 */
const verifiedAhead = new WeakMap<Uint8Array, VerifiedEnvelope>();

/**
 * Does `verifyEnvelope`'s slow part ahead of time, asynchronously, where the platform has an
 * Ed25519 of its own (crypto.ts, `vouchFor`): a later `verifyEnvelope` of these same bytes
 * then costs a lookup. Never throws and never decides: an envelope it cannot vouch for is
 * checked by `verifyEnvelope` as before, which gives every verdict, and the same one on every
 * device. Callers keep the bytes unchanged in between (they are the server's message, read once).
 */
export async function verifyEnvelopeAhead(bytes: Uint8Array, spaceId: SpaceId): Promise<void> {
  if (verifiedAhead.has(bytes)) return;
  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(bytes);
  } catch {
    return;
  }
  if (envelope.spaceId !== spaceId) return;
  // bytes = signed part ‖ signature (nothing after it, `decodeEnvelope` checks), so the whole
  // digest is the envelope's hash, as in `verifyEnvelope`.
  const digests = await sha256PrefixAndWhole(bytes, envelope.signedBytes.length);
  const signed = concatBytes(SIGNATURE_CONTEXT, digests.prefix);
  if (await vouchFor(envelope.author, signed, envelope.signature)) {
    verifiedAhead.set(bytes, { envelope, hash: digests.whole });
  }
}

/** Checks layout, space and signature: all a device needs before it checks the chain. */
export function verifyEnvelope(bytes: Uint8Array, spaceId: SpaceId): VerifiedEnvelope {
  const ahead = verifiedAhead.get(bytes);
  if (ahead && ahead.envelope.spaceId === spaceId) return ahead;
  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(bytes);
  } catch (error) {
    if (!(error instanceof EnvelopeFormatError)) throw error;
    throw new SealedError(
      SealedErrorReason.malformed,
      `An envelope could not be read (${error.message}).`,
    );
  }
  if (envelope.spaceId !== spaceId) {
    throw new SealedError(SealedErrorReason.otherSpace, 'An envelope of another space was served.');
  }
  const digest = sha256Continuable(envelope.signedBytes);
  if (!verify(envelope.author, concatBytes(SIGNATURE_CONTEXT, digest.digest), envelope.signature)) {
    throw new SealedError(
      SealedErrorReason.badSignature,
      'An envelope was changed after its author signed it, or was never signed by that device.',
    );
  }
  // bytes = signed part ‖ signature, so this is SHA-256 of the whole envelope.
  return { envelope, hash: digest.continueWith(envelope.signature) };
}

/** Decrypts a verified envelope's payload. */
export function decryptEnvelope(verified: VerifiedEnvelope, keyring: SpaceKeyring): Uint8Array {
  const { envelope } = verified;
  const keys = keyring.get(envelope.epoch);
  if (!keys) throw unknownEpoch(envelope.epoch);
  const payload = aeadOpen(
    keyFor(envelope.kind, keys),
    envelope.nonce,
    envelope.ciphertext,
    envelope.headerBytes,
  );
  if (!payload) {
    throw new SealedError(
      SealedErrorReason.badCiphertext,
      'An envelope does not decrypt with this space’s key: it was sealed for something else.',
    );
  }
  return payload;
}

/** verifyEnvelope, then decryptEnvelope, for the keyring's space. */
export function openEnvelope(bytes: Uint8Array, keyring: SpaceKeyring): OpenedEnvelope {
  const verified = verifyEnvelope(bytes, keyring.spaceId);
  return { ...verified, payload: decryptEnvelope(verified, keyring) };
}

function keyFor(kind: EnvelopeKind, keys: EpochKeys): Uint8Array {
  switch (kind) {
    case EnvelopeKind.presence:
      return keys.presence;
    case EnvelopeKind.update:
    case EnvelopeKind.snapshot:
    case EnvelopeKind.member:
    case EnvelopeKind.keys:
    case EnvelopeKind.carried:
      return keys.content;
    default:
      return unreachable(kind);
  }
}

function unreachable(kind: never): never {
  throw new SealedError(SealedErrorReason.malformed, `Unknown envelope kind ${String(kind)}.`);
}

function unknownEpoch(epoch: number): SealedError {
  return new SealedError(
    SealedErrorReason.unknownEpoch,
    `This device does not hold the space’s key${epoch ? ` for epoch ${epoch}` : ''} yet.`,
  );
}
