// Test support only (excluded from the build): sockets the tests play the server on, and a
// small sealed server over a MemoryLog (orders, stores once, acks, relays; no checks).
import {
  decodeDeviceMessage,
  decodeEnvelope,
  encodeServerMessage,
  SealedMessage,
  type DeviceMessage,
  type ServerMessage,
} from '@mend/protocol';
import type { SocketLike } from '../providerTypes.js';
import type { MemoryLog } from './sealedSpace.js';

/** A socket the test plays the server on: it opens when told and records what was sent. */
export class FakeSocket implements SocketLike {
  binaryType = 'blob';
  readyState = 0;
  readonly sent: DeviceMessage[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  /** Called with each message the device sends (a fake server answers through it). */
  onSend: ((message: DeviceMessage) => void) | null = null;

  send(data: Uint8Array): void {
    const message = decodeDeviceMessage(data);
    this.sent.push(message);
    this.onSend?.(message);
  }

  close(code = 1000, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  serve(message: ServerMessage): void {
    const bytes = encodeServerMessage(message);
    this.onmessage?.({
      data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    });
  }

  snapshots(): Uint8Array[] {
    return this.sent.flatMap((m) => (m.type === SealedMessage.snapshot ? [m.envelope] : []));
  }

  submitted(): Uint8Array[] {
    return this.sent.flatMap((m) => (m.type === SealedMessage.submit ? [m.envelope] : []));
  }
}

/**
 * The sealed server's part over a MemoryLog, answering asynchronously as a network would: a
 * backlog after each `hello`, an `ack` for each submit (a resend of a stored envelope is acked
 * with its seq and stored once), and every stored envelope relayed to the other open sockets.
 * Offline, sockets fail to open (1006).
 */
export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  readonly hellos: { since: number; stream: number }[] = [];
  online = true;
  /**
   * A snapshot the server stored (the log's entries it covers compacted away): a hello below
   * what it covers is answered with it at `coversSeq`, then the entries after.
   */
  snapshot: { readonly coversSeq: number; readonly envelope: Uint8Array } | null = null;

  constructor(readonly log: MemoryLog) {}

  readonly openSocket = (): SocketLike => {
    const socket = new FakeSocket();
    this.sockets.push(socket);
    socket.onSend = (message) => this.#take(socket, message);
    later(() => (this.online ? socket.open() : socket.close(1006, '')));
    return socket;
  };

  /** Envelopes each socket submitted, counted over all sockets. */
  submitted(): Uint8Array[] {
    return this.sockets.flatMap((s) => s.submitted());
  }

  /** Relays what a device stored straight into the log (Device.edit) to the open sockets. */
  relay(seq: number): void {
    const envelope = this.log.entries[seq - 1]!;
    for (const s of this.#open()) this.#serve(s, { type: SealedMessage.envelope, seq, envelope });
  }

  #open(): FakeSocket[] {
    return this.sockets.filter((s) => s.readyState === 1);
  }

  #take(socket: FakeSocket, message: DeviceMessage): void {
    switch (message.type) {
      case SealedMessage.hello: {
        this.hellos.push({ since: message.since, stream: message.stream });
        const snapshot = this.snapshot;
        const compacted = snapshot !== null && message.since < snapshot.coversSeq;
        const entries = [
          ...(compacted ? [{ seq: snapshot.coversSeq, envelope: snapshot.envelope }] : []),
          ...this.log.entries
            .map((envelope, i) => ({ seq: i + 1, envelope }))
            .slice(compacted ? snapshot.coversSeq : message.since),
        ];
        this.#serve(socket, {
          type: SealedMessage.backlog,
          head: this.log.entries.length,
          last: true,
          entries,
        });
        return;
      }
      case SealedMessage.submit: {
        const { stream, counter } = decodeEnvelope(message.envelope);
        let seq = this.log.entries.findIndex((bytes) => {
          const stored = decodeEnvelope(bytes);
          return stored.stream === stream && stored.counter === counter;
        });
        if (seq >= 0) seq += 1;
        else {
          seq = this.log.append(message.envelope);
          for (const other of this.#open()) {
            if (other === socket) continue;
            this.#serve(other, { type: SealedMessage.envelope, seq, envelope: message.envelope });
          }
        }
        this.#serve(socket, { type: SealedMessage.ack, stream, counter, seq });
        return;
      }
      case SealedMessage.snapshot: {
        const coversSeq = decodeEnvelope(message.envelope).covers?.seq ?? 0;
        this.#serve(socket, {
          type: SealedMessage.snapshotResult,
          coversSeq,
          stored: false,
          reason: 'stale',
        });
        return;
      }
      default:
        return;
    }
  }

  #serve(socket: FakeSocket, message: ServerMessage): void {
    later(() => {
      if (socket.readyState === 1) socket.serve(message);
    });
  }
}

function later(work: () => void): void {
  setTimeout(work, 0);
}

/** Resolves once `predicate()` holds, letting timers and IndexedDB run in between. */
export async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  throw new Error(`never happened: ${what}`);
}
