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

export interface AwarenessBounds {
  /** Largest state (JSON text, UTF-8 bytes) one entry may carry. */
  maxStateBytes: number;
  /** Most entries one update may carry. */
  maxEntries: number;
}

/**
 * Decodes an awareness update without the y-protocols Awareness class (which keeps a timer and
 * an observable per instance): a room keeps only the JSON text of each state. Anything that is
 * not a well-formed update within `bounds` is a ProtocolViolation, never a bare decoding error,
 * so bad input is counted and closed quietly rather than logged as a fault of ours.
 */
export function decodeAwareness(update: Uint8Array, bounds: AwarenessBounds): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = readOrRefuse(() => decoding.readVarUint(decoder));
  if (count > bounds.maxEntries) {
    throw new ProtocolViolation(
      CloseCode.awarenessTooLarge,
      'awareness-too-large',
      'too many awareness entries in one message',
    );
  }
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = readOrRefuse(() => decoding.readVarUint(decoder));
    const clock = readOrRefuse(() => decoding.readVarUint(decoder));
    const state = readOrRefuse(() => decoding.readVarString(decoder));
    if (Buffer.byteLength(state, 'utf8') > bounds.maxStateBytes) {
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
      throw malformed('awareness state is not JSON');
    }
    if (typeof parsed !== 'object') throw malformed('awareness state is not an object');
    entries.push({ clientId, clock, state });
  }
  if (decoding.hasContent(decoder)) throw malformed('trailing bytes after awareness entries');
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

function malformed(message: string): ProtocolViolation {
  return new ProtocolViolation(CloseCode.badMessage, 'malformed-awareness', message);
}

/** lib0 throws plain Errors on truncated input (and RangeErrors on absurd lengths). */
function readOrRefuse<T>(read: () => T): T {
  try {
    return read();
  } catch {
    throw malformed('undecodable awareness update');
  }
}
