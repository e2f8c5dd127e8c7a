import {
  CloseCode,
  EnvelopeKind,
  SealedMessage,
  encodeServerMessage,
  readEnvelopeHeader,
  type EnvelopeOutline,
} from '@mend/protocol';
import { BusKind } from '../pubsub/SpaceBus.js';
import { sameBytes } from '../storage/sealedChain.js';
import { ProtocolViolation } from '../sync/ProtocolViolation.js';
import type { RoomSocket } from '../sync/RoomSocket.js';
import { compactBytes, expandBytes } from './compactBytes.js';
import { decodeLeft, encodeLeft } from './sealedBus.js';
import type { SealedSession } from './SealedSession.js';

/** A presence not renewed for this long is stale (y-protocols' awareness timeout). */
const PRESENCE_TIMEOUT_MS = 30_000;

/** A presence envelope's ciphertext may exceed the state limit by the AEAD tag. */
const AEAD_TAG_BYTES = 16;

/** The room's parts presence works through: the room's own objects, no closures. */
export interface SealedPresenceDeps {
  /** The room's sockets, each with its session. */
  readonly sessions: ReadonlyMap<RoomSocket, SealedSession>;
  readonly output: { send(socket: RoomSocket, message: Uint8Array): void };
  /** To the other server processes; never rejects. */
  readonly bus: { publish(kind: BusKind, payload: Uint8Array): Promise<void> };
  readonly now: () => number;
  /** Largest presence state (MEND's awarenessStateBytes), before encryption. */
  readonly stateBytes: number;
}

interface Remote {
  readonly author: Uint8Array;
  readonly stream: number;
  envelope: Uint8Array;
  renewedAt: number;
}

/**
 * Presence in a sealed room: sealed presence envelopes relayed to the space's other sockets,
 * here and on other nodes, and never stored. Each socket's latest one (on its session) and other
 * nodes' (here, until their `left` or 30 s without renewal, for a node that died without saying
 * so) are held in memory, so a device that arrives learns who is here at once. When a stream's
 * socket closes, the others are told it `left`.
 */
export class SealedPresence {
  readonly #sessions: SealedPresenceDeps['sessions'];
  readonly #output: SealedPresenceDeps['output'];
  readonly #bus: SealedPresenceDeps['bus'];
  readonly #now: () => number;
  readonly #stateBytes: number;
  readonly #remote: Remote[] = [];

  /** Takes `deps` apart: a room keeps no deps object for its presence. */
  constructor(deps: SealedPresenceDeps) {
    this.#sessions = deps.sessions;
    this.#output = deps.output;
    this.#bus = deps.bus;
    this.#now = deps.now;
    this.#stateBytes = deps.stateBytes;
  }

  /** A socket's presence envelope, its header already checked: relayed to everyone else. */
  relay(
    socket: RoomSocket,
    session: SealedSession,
    header: EnvelopeOutline,
    bytes: Uint8Array,
  ): void {
    if (header.ciphertextBytes > this.#stateBytes + AEAD_TAG_BYTES) {
      throw new ProtocolViolation(
        CloseCode.awarenessTooLarge,
        'presence-too-large',
        'a presence state over the limit',
      );
    }
    session.presence = compactBytes(bytes);
    this.#broadcast(
      encodeServerMessage({ type: SealedMessage.presenceRelay, envelope: bytes }),
      socket,
    );
    void this.#bus.publish(BusKind.sealedPresence, bytes);
  }

  /** A socket closed: its stream left, unless another socket here still writes it. */
  left(session: SealedSession): void {
    const { stream } = session;
    if (stream === null) return;
    for (const other of this.#sessions.values()) {
      // A reconnect may overlap the old socket.
      if (other.stream === stream && other.device === session.device) return;
    }
    const author = expandBytes(session.device);
    this.#broadcast(encodeServerMessage({ type: SealedMessage.left, author, stream }));
    void this.#bus.publish(BusKind.sealedLeft, encodeLeft(author, stream));
  }

  /** Another node relayed a presence envelope or a `left`. Throws on garbled input. */
  fromNode(
    kind: typeof BusKind.sealedPresence | typeof BusKind.sealedLeft,
    payload: Uint8Array,
  ): void {
    if (kind === BusKind.sealedLeft) {
      const { author, stream } = decodeLeft(payload);
      const known = this.#find(author, stream);
      if (known) this.#remote.splice(this.#remote.indexOf(known), 1);
      this.#broadcast(encodeServerMessage({ type: SealedMessage.left, author, stream }));
      return;
    }
    const { kind: envelopeKind, author, stream } = readEnvelopeHeader(payload);
    if (envelopeKind !== EnvelopeKind.presence) throw new Error('not a presence envelope');
    const known = this.#find(author, stream);
    if (known) {
      known.envelope = payload;
      known.renewedAt = this.#now();
    } else this.#remote.push({ author, stream, envelope: payload, renewedAt: this.#now() });
    this.#broadcast(encodeServerMessage({ type: SealedMessage.presenceRelay, envelope: payload }));
  }

  /** Sends a socket that just caught up everyone else's current presence. */
  greet(socket: RoomSocket): void {
    const envelopes: Uint8Array[] = [];
    for (const [other, session] of this.#sessions) {
      if (other !== socket && session.presence) envelopes.push(expandBytes(session.presence));
    }
    const now = this.#now();
    for (let i = this.#remote.length - 1; i >= 0; i--) {
      const remote = this.#remote[i];
      if (remote && now - remote.renewedAt > PRESENCE_TIMEOUT_MS) this.#remote.splice(i, 1);
    }
    for (const remote of this.#remote) envelopes.push(remote.envelope);
    for (const envelope of envelopes) {
      this.#output.send(
        socket,
        encodeServerMessage({ type: SealedMessage.presenceRelay, envelope }),
      );
    }
  }

  /** Sends to every socket that said hello, except `except`. */
  #broadcast(message: Uint8Array, except: RoomSocket | null = null): void {
    for (const [socket, session] of this.#sessions) {
      if (socket !== except && session.stream !== null) this.#output.send(socket, message);
    }
  }

  #find(author: Uint8Array, stream: number): Remote | undefined {
    return this.#remote.find((r) => r.stream === stream && sameBytes(r.author, author));
  }
}
