import { MessageType, SyncStep } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { ProtocolViolation } from './ProtocolViolation.js';

/**
 * y-websocket's framing: encoders for the messages the server sends, and the reader of what a
 * client sends. Only the framing is checked here; the payloads (updates, awareness) are checked
 * by whoever applies them.
 */
export function syncMessage(step: SyncStep, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  encoding.writeVarUint(encoder, step);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

export function awarenessMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.awareness);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** A message from a client, framing read. Sync steps 2 and updates are both just updates. */
export type ClientMessage =
  | { type: 'syncStep1'; stateVector: Uint8Array }
  | { type: 'update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'auth' }
  | { type: 'queryAwareness' };

/** Reads one client message; anything malformed is a ProtocolViolation. */
export function readClientMessage(message: Uint8Array): ClientMessage {
  let type: number;
  let decoder: decoding.Decoder;
  try {
    decoder = decoding.createDecoder(message);
    type = decoding.readVarUint(decoder);
  } catch {
    throw ProtocolViolation.malformed('undecodable message');
  }
  switch (type) {
    case MessageType.sync: {
      const [step, payload] = readPayload(decoder, true);
      if (step === SyncStep.step1) return { type: 'syncStep1', stateVector: payload };
      if (step === SyncStep.step2 || step === SyncStep.update) {
        return { type: 'update', update: payload };
      }
      throw ProtocolViolation.malformed('unknown sync step');
    }
    case MessageType.awareness: {
      const [, payload] = readPayload(decoder, false);
      return { type: 'awareness', update: payload };
    }
    case MessageType.auth:
      return { type: 'auth' };
    case MessageType.queryAwareness:
      if (decoding.hasContent(decoder)) throw ProtocolViolation.malformed('trailing bytes');
      return { type: 'queryAwareness' };
    default:
      throw ProtocolViolation.malformed('unknown message type');
  }
}

/** Reads `varUint step? varUint8Array payload` and insists nothing follows. */
function readPayload(decoder: decoding.Decoder, withStep: boolean): [number, Uint8Array] {
  try {
    const step = withStep ? decoding.readVarUint(decoder) : -1;
    const payload = decoding.readVarUint8Array(decoder);
    if (decoding.hasContent(decoder)) throw new Error('trailing bytes');
    return [step, payload];
  } catch {
    throw ProtocolViolation.malformed('undecodable message');
  }
}
