import { CloseCode } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { ProtocolViolation } from './ProtocolViolation.js';

/** One client's presence, as y-protocols/awareness encodes it. `state` is JSON text; "null" = gone. */
export interface AwarenessEntry {
  clientId: number;
  clock: number;
  state: string;
}

/**
 * Decodes an awareness update without the y-protocols Awareness class (which keeps a timer and
 * an observable per instance): a room keeps only the JSON text of each state.
 */
export function decodeAwareness(update: Uint8Array, maxStateBytes: number): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const state = decoding.readVarString(decoder);
    if (Buffer.byteLength(state, 'utf8') > maxStateBytes) {
      throw new ProtocolViolation(
        CloseCode.awarenessTooLarge,
        'awareness-too-large',
        'awareness state too large',
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(state);
    } catch {
      throw ProtocolViolation.malformed('awareness state is not JSON');
    }
    if (typeof parsed !== 'object')
      throw ProtocolViolation.malformed('awareness state is not an object');
    entries.push({ clientId, clock, state });
  }
  if (decoding.hasContent(decoder)) throw ProtocolViolation.malformed('trailing bytes');
  return entries;
}

export function encodeAwareness(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientId);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, entry.state);
  }
  return encoding.toUint8Array(encoder);
}
