import { hash } from 'node:crypto';
import {
  CloseCode,
  EnvelopeFormatError,
  SealedWireError,
  decodeDeviceMessage,
  readEnvelopeHeader,
  type DeviceMessage,
  type EnvelopeKind,
  type EnvelopeOutline,
  type SpaceId,
} from '@mend/protocol';
import { ProtocolViolation } from '../sync/ProtocolViolation.js';
import { isHeld, type CompactBytes } from './compactBytes.js';

/**
 * What the server reads of what a device sends on the sealed socket: the message, the
 * envelope's public header, and the envelope's hash. Nothing past the header is parsed: the
 * server cannot read the rest, and does not try. Every refusal is a ProtocolViolation that
 * closes only the sender (docs/protocol.md, "Close codes").
 */

/** Reads one device message; anything that does not decode closes the socket with 4400. */
export function readDeviceMessage(bytes: Uint8Array): DeviceMessage {
  try {
    return decodeDeviceMessage(bytes);
  } catch (error) {
    if (error instanceof SealedWireError) throw ProtocolViolation.malformed(error.message);
    throw error;
  }
}

/**
 * Whom the socket speaks for: its device (from its token) and the stream its hello named (null
 * before its hello). A SealedSession is one.
 */
export interface Speaker {
  readonly device: CompactBytes;
  readonly stream: number | null;
}

/**
 * Reads an envelope's header (readEnvelopeHeader: the layout of the whole envelope is checked,
 * nothing past the header is sliced out) and checks it against the socket: after its hello
 * (else 4400), one of `kinds` (else 4400), this space, written by this socket's device (else
 * 4409), and, unless `anyStream`, on the stream its hello named (else 4409). Submitted envelopes
 * may come from an earlier stream of the same device (its outbox, sealed before a reload);
 * storage refuses a stream another device claimed.
 */
export function checkEnvelope(
  bytes: Uint8Array,
  kinds: readonly EnvelopeKind[],
  spaceId: SpaceId,
  speaker: Speaker,
  anyStream = false,
): EnvelopeOutline {
  if (speaker.stream === null) {
    throw new ProtocolViolation(CloseCode.badMessage, 'no-hello', 'an envelope before hello');
  }
  let envelope: EnvelopeOutline;
  try {
    envelope = readEnvelopeHeader(bytes);
  } catch (error) {
    if (error instanceof EnvelopeFormatError) throw ProtocolViolation.malformed(error.message);
    throw error;
  }
  if (!kinds.includes(envelope.kind)) {
    throw new ProtocolViolation(CloseCode.badMessage, 'wrong-kind', 'an envelope of another kind');
  }
  if (envelope.spaceId !== spaceId) {
    throw new ProtocolViolation(CloseCode.chainConflict, 'wrong-space', 'another space');
  }
  if (!isHeld(envelope.author, speaker.device)) {
    throw new ProtocolViolation(CloseCode.chainConflict, 'not-the-author', 'another author');
  }
  if (!anyStream && envelope.stream !== speaker.stream) {
    throw new ProtocolViolation(CloseCode.chainConflict, 'wrong-stream', 'another stream');
  }
  return envelope;
}

/** SHA-256 of the whole envelope, signature included: how chains and snapshots name it. */
export function envelopeHash(bytes: Uint8Array): Uint8Array {
  // One-shot: no Hash object per envelope. Its Buffer owns its 32 bytes; seen as a plain view.
  const digest = hash('sha256', bytes, 'buffer');
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}
