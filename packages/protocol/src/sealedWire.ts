import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { KEY_BYTES } from './sealedEnvelope.js';

/**
 * The messages of the sealed socket (docs/protocol.md, "The sealed socket"), for the server and
 * for the sealed client. Envelopes travel as opaque bytes here; `decodeEnvelope` reads them.
 */

/** The WebSocket subprotocol that selects the sealed socket on `/sync/<spaceId>`. */
export const SEALED_SUBPROTOCOL = 'mend-sealed-1';

export const SealedMessage = {
  hello: 16,
  submit: 17,
  presence: 18,
  snapshot: 19,
  backlog: 32,
  envelope: 33,
  ack: 34,
  presenceRelay: 35,
  left: 36,
  snapshotResult: 37,
} as const;
export type SealedMessage = (typeof SealedMessage)[keyof typeof SealedMessage];

/** What a device sends. */
export type DeviceMessage =
  | { type: typeof SealedMessage.hello; since: number; stream: number }
  | { type: typeof SealedMessage.submit; envelope: Uint8Array }
  | { type: typeof SealedMessage.presence; envelope: Uint8Array }
  | { type: typeof SealedMessage.snapshot; envelope: Uint8Array };

export interface StoredEnvelope {
  readonly seq: number;
  readonly envelope: Uint8Array;
}

/** What the server sends. */
export type ServerMessage =
  | {
      type: typeof SealedMessage.backlog;
      head: number;
      last: boolean;
      entries: readonly StoredEnvelope[];
    }
  | { type: typeof SealedMessage.envelope; seq: number; envelope: Uint8Array }
  | { type: typeof SealedMessage.ack; stream: number; counter: number; seq: number }
  | { type: typeof SealedMessage.presenceRelay; envelope: Uint8Array }
  | { type: typeof SealedMessage.left; author: Uint8Array; stream: number }
  | {
      type: typeof SealedMessage.snapshotResult;
      coversSeq: number;
      stored: boolean;
      reason: string;
    };

export class SealedWireError extends Error {
  override readonly name = 'SealedWireError';
}

export function encodeDeviceMessage(m: DeviceMessage): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, m.type);
  switch (m.type) {
    case SealedMessage.hello:
      encoding.writeVarUint(e, m.since);
      encoding.writeVarUint(e, m.stream);
      break;
    case SealedMessage.submit:
    case SealedMessage.presence:
    case SealedMessage.snapshot:
      encoding.writeVarUint8Array(e, m.envelope);
      break;
    default:
      return unreachable(m);
  }
  return encoding.toUint8Array(e);
}

export function decodeDeviceMessage(bytes: Uint8Array): DeviceMessage {
  return read(bytes, (d, type) => {
    switch (type) {
      case SealedMessage.hello:
        return { type, since: readSafeUint(d), stream: readClientId(d) };
      case SealedMessage.submit:
      case SealedMessage.presence:
      case SealedMessage.snapshot:
        return { type, envelope: decoding.readVarUint8Array(d) };
      default:
        throw new SealedWireError(`unknown message type ${type}`);
    }
  });
}

export function encodeServerMessage(m: ServerMessage): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, m.type);
  switch (m.type) {
    case SealedMessage.backlog:
      encoding.writeVarUint(e, m.head);
      encoding.writeUint8(e, m.last ? 1 : 0);
      encoding.writeVarUint(e, m.entries.length);
      for (const entry of m.entries) {
        encoding.writeVarUint(e, entry.seq);
        encoding.writeVarUint8Array(e, entry.envelope);
      }
      break;
    case SealedMessage.envelope:
      encoding.writeVarUint(e, m.seq);
      encoding.writeVarUint8Array(e, m.envelope);
      break;
    case SealedMessage.ack:
      encoding.writeVarUint(e, m.stream);
      encoding.writeVarUint(e, m.counter);
      encoding.writeVarUint(e, m.seq);
      break;
    case SealedMessage.presenceRelay:
      encoding.writeVarUint8Array(e, m.envelope);
      break;
    case SealedMessage.left:
      if (m.author.length !== KEY_BYTES) throw new SealedWireError('an author is 32 bytes');
      encoding.writeUint8Array(e, m.author);
      encoding.writeVarUint(e, m.stream);
      break;
    case SealedMessage.snapshotResult:
      encoding.writeVarUint(e, m.coversSeq);
      encoding.writeUint8(e, m.stored ? 1 : 0);
      encoding.writeVarString(e, m.reason);
      break;
    default:
      return unreachable(m);
  }
  return encoding.toUint8Array(e);
}

/** Reads a server message; a device treats whatever arrives as untrusted, so this is strict. */
export function decodeServerMessage(bytes: Uint8Array): ServerMessage {
  return read(bytes, (d, type) => {
    switch (type) {
      case SealedMessage.backlog: {
        const head = readSafeUint(d);
        const last = readFlag(d);
        const n = readSafeUint(d);
        const entries: StoredEnvelope[] = [];
        for (let i = 0; i < n; i++) {
          entries.push({ seq: readSafeUint(d), envelope: decoding.readVarUint8Array(d) });
        }
        return { type, head, last, entries };
      }
      case SealedMessage.envelope:
        return { type, seq: readSafeUint(d), envelope: decoding.readVarUint8Array(d) };
      case SealedMessage.ack:
        return { type, stream: readClientId(d), counter: readSafeUint(d), seq: readSafeUint(d) };
      case SealedMessage.presenceRelay:
        return { type, envelope: decoding.readVarUint8Array(d) };
      case SealedMessage.left:
        return { type, author: readFixed(d, KEY_BYTES), stream: readClientId(d) };
      case SealedMessage.snapshotResult:
        return {
          type,
          coversSeq: readSafeUint(d),
          stored: readFlag(d),
          reason: decoding.readVarString(d),
        };
      default:
        throw new SealedWireError(`unknown message type ${type}`);
    }
  });
}

function read<T>(bytes: Uint8Array, body: (d: decoding.Decoder, type: number) => T): T {
  const d = decoding.createDecoder(bytes);
  let message: T;
  try {
    message = body(d, decoding.readVarUint(d));
  } catch (error) {
    if (error instanceof SealedWireError) throw error;
    throw new SealedWireError('the message is cut short or garbled');
  }
  if (decoding.hasContent(d)) throw new SealedWireError('bytes after the message');
  return message;
}

function readSafeUint(d: decoding.Decoder): number {
  const n = decoding.readVarUint(d);
  if (!Number.isSafeInteger(n)) throw new SealedWireError('a number past 2^53');
  return n;
}

function readClientId(d: decoding.Decoder): number {
  const n = readSafeUint(d);
  if (n > 0xffff_ffff) throw new SealedWireError('a stream is a Yjs client id (32 bits)');
  return n;
}

function readFlag(d: decoding.Decoder): boolean {
  const b = decoding.readUint8(d);
  if (b > 1) throw new SealedWireError('a flag is 0 or 1');
  return b === 1;
}

function readFixed(d: decoding.Decoder, n: number): Uint8Array {
  if (d.arr.length - d.pos < n) throw new SealedWireError('the message is cut short');
  return decoding.readUint8Array(d, n);
}

function unreachable(m: never): never {
  throw new SealedWireError(`unknown message ${JSON.stringify(m)}`);
}
