import { KEY_BYTES } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/**
 * Payloads of the sealed kinds on the SpaceBus (BusKind.sealedEnvelope, sealedLeft). Other nodes
 * are trusted (they checked the envelope's header before storing it); what arrives is still
 * decoded strictly, so a garbled message is dropped rather than relayed.
 */

/** `varUint seq`, `varUint8Array envelope`: an envelope the publishing node stored. */
export function encodeStoredEnvelope(seq: number, envelope: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, seq);
  encoding.writeVarUint8Array(e, envelope);
  return encoding.toUint8Array(e);
}

export function decodeStoredEnvelope(payload: Uint8Array): { seq: number; envelope: Uint8Array } {
  const d = decoding.createDecoder(payload);
  const seq = decoding.readVarUint(d);
  const envelope = decoding.readVarUint8Array(d);
  if (!Number.isSafeInteger(seq) || seq < 1 || decoding.hasContent(d)) {
    throw new Error('a garbled sealed envelope on the bus');
  }
  return { seq, envelope };
}

/** `bytes[32] author`, `varUint stream`: a stream whose socket closed. */
export function encodeLeft(author: Uint8Array, stream: number): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeUint8Array(e, author);
  encoding.writeVarUint(e, stream);
  return encoding.toUint8Array(e);
}

export function decodeLeft(payload: Uint8Array): { author: Uint8Array; stream: number } {
  const d = decoding.createDecoder(payload);
  if (payload.length <= KEY_BYTES) throw new Error('a garbled sealed left on the bus');
  const author = decoding.readUint8Array(d, KEY_BYTES);
  const stream = decoding.readVarUint(d);
  if (decoding.hasContent(d) || stream > 0xffff_ffff) {
    throw new Error('a garbled sealed left on the bus');
  }
  return { author, stream };
}
