import type { PartnerId } from '@mend/model';
import {
  CloseCode,
  decodeServerMessage,
  encodeDeviceMessage,
  EnvelopeKind,
  SealedMessage,
  SealedWireError,
  type ServerMessage,
} from '@mend/protocol';
import { ObservableV2 } from 'lib0/observable';
import { applyAwarenessUpdate, removeAwarenessStates, type Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { openEnvelope, sealEnvelope } from '../envelopes.js';
import { SealedError } from '../errors.js';
import type { DeviceIdentity } from '../identity.js';
import { encodeMemberPayload } from '../payloads.js';
import type { SpaceKeyring } from '../SpaceKeyring.js';
import { StreamWriter } from '../StreamWriter.js';
import type { Outbox } from './Outbox.js';
import { encodePresenceUpdate } from './presenceUpdate.js';
import { REMOTE, type Receipt, type SealedReplica, type SetAside } from './SealedReplica.js';

/** The part of a WebSocket the provider uses: the browser's and `ws`'s both fit. */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type ProviderStatus =
  | { kind: 'connecting' }
  | { kind: 'syncing' }
  | { kind: 'synced' }
  | { kind: 'disconnected'; code: number; reason: string };

export interface ProviderEvents {
  status: (status: ProviderStatus) => void;
  /** An envelope was kept aside; both partners should be told. */
  'set-aside': (entry: SetAside) => void;
  /** The server showed something it could only show by tampering (it forgot what it served). */
  tamper: (detail: string) => void;
  receipt: (receipt: Receipt, seq: number) => void;
}

export interface ProviderOptions {
  replica: SealedReplica;
  awareness: Awareness | null;
  identity: DeviceIdentity;
  keyring: SpaceKeyring;
  outbox: Outbox;
  /** Opens a socket to `/sync/<spaceId>` with the `mend-sealed-1` subprotocol and credentials. */
  openSocket: () => SocketLike;
  /** This device's seat: announced once, when the log does not yet name this device. */
  partnerId: PartnerId;
  /** Milliseconds before the next attempt; `attempt` counts from 1. Return null to stop. */
  reconnectDelay?: (attempt: number, code: number) => number | null;
}

/**
 * Keeps a Y.Doc in a sealed space in sync (docs/protocol.md): seals every local change into the
 * device's stream and the outbox before sending, resends the outbox on every connect
 * (idempotent on the server), feeds everything the server sends through the replica's checks,
 * and seals presence. Reconnects by itself unless the server said not to.
 */
export class SealedProvider extends ObservableV2<ProviderEvents> {
  readonly doc: Y.Doc;
  readonly #o: ProviderOptions;
  readonly #writer: StreamWriter;
  #socket: SocketLike | null = null;
  #status: ProviderStatus = { kind: 'connecting' };
  #attempts = 0;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #presenceCounter = 0;
  #lastPresence = new Map<number, number>();
  readonly #pending = new Map<number, { bytes: Uint8Array; own: boolean }>();
  #gapTimer: ReturnType<typeof setTimeout> | null = null;
  #backlogDone = false;
  #destroyed = false;
  readonly #off: (() => void)[] = [];

  constructor(options: ProviderOptions) {
    super();
    this.#o = options;
    this.doc = options.replica.doc;
    this.#writer = new StreamWriter(this.doc.clientID);
    const onUpdate = (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE) this.#sealAndSend(EnvelopeKind.update, update);
    };
    this.doc.on('update', onUpdate);
    this.#off.push(() => this.doc.off('update', onUpdate));
    const awareness = options.awareness;
    if (awareness) {
      const onAwareness = (
        { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
        origin: unknown,
      ) => {
        if (origin === REMOTE) return;
        const mine = this.doc.clientID;
        if ([...added, ...updated, ...removed].includes(mine)) this.#sendPresence();
      };
      awareness.on('update', onAwareness);
      this.#off.push(() => awareness.off('update', onAwareness));
    }
    this.#connect();
  }

  get status(): ProviderStatus {
    return this.#status;
  }

  get synced(): boolean {
    return this.#status.kind === 'synced';
  }

  /** Envelopes sealed on this device and not yet acknowledged by the server. */
  get waiting(): number {
    return this.#o.outbox.size;
  }

  /** Resolves once the provider is synced (now, or next time). */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => {
      const on = (status: ProviderStatus) => {
        if (status.kind !== 'synced') return;
        this.off('status', on);
        resolve();
      };
      this.on('status', on);
    });
  }

  override destroy(): void {
    this.#destroyed = true;
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#gapTimer) clearTimeout(this.#gapTimer);
    for (const off of this.#off) off();
    this.#socket?.close(1000, 'closed');
    this.#socket = null;
    super.destroy();
  }

  #setStatus(status: ProviderStatus): void {
    this.#status = status;
    this.emit('status', [status]);
  }

  #connect(): void {
    if (this.#destroyed) return;
    this.#setStatus({ kind: 'connecting' });
    const socket = this.#o.openSocket();
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    socket.onopen = () => {
      this.#attempts = 0;
      this.#backlogDone = false;
      this.#setStatus({ kind: 'syncing' });
      const since = this.#o.replica.since;
      this.#send({ type: SealedMessage.hello, since, stream: this.doc.clientID });
      for (const entry of this.#o.outbox.entries()) {
        this.#send({ type: SealedMessage.submit, envelope: entry.envelope });
      }
      if (this.#o.awareness?.getLocalState()) this.#sendPresence();
    };
    socket.onmessage = (event) => {
      if (!(event.data instanceof ArrayBuffer)) return socket.close(CloseCode.unsupportedData);
      let message: ServerMessage;
      try {
        message = decodeServerMessage(new Uint8Array(event.data));
      } catch (error) {
        if (!(error instanceof SealedWireError)) throw error;
        this.emit('tamper', [`the server sent a message Mend cannot read (${error.message})`]);
        return;
      }
      this.#handle(message);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#setStatus({ kind: 'disconnected', code: event.code, reason: event.reason });
      this.#forgetRemotePresence();
      this.#scheduleReconnect(event.code);
    };
  }

  #scheduleReconnect(code: number): void {
    if (this.#destroyed) return;
    this.#attempts++;
    const delay = (this.#o.reconnectDelay ?? defaultDelay)(this.#attempts, code);
    if (delay === null) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#connect();
    }, delay);
  }

  #handle(message: ServerMessage): void {
    switch (message.type) {
      case SealedMessage.backlog: {
        const back = this.#o.replica.checkServerHead(message.head);
        if (back) this.emit('tamper', [back]);
        for (const entry of message.entries) this.#queue(entry.seq, entry.envelope, false);
        this.#drain();
        if (message.last) {
          this.#backlogDone = true;
          this.#announceSelf();
          this.#maybeSynced();
        }
        return;
      }
      case SealedMessage.envelope:
        this.#queue(message.seq, message.envelope, false);
        this.#drain();
        return;
      case SealedMessage.ack: {
        const entry = this.#o.outbox.find(message.stream, message.counter);
        this.#o.outbox.acknowledge(message.stream, message.counter);
        // seq 0: stored earlier and compacted away since; the snapshot carries it.
        if (entry && message.seq > 0) this.#queue(message.seq, entry.envelope, true);
        this.#drain();
        return;
      }
      case SealedMessage.presenceRelay:
        this.#takePresence(message.envelope);
        return;
      case SealedMessage.left:
        if (this.#o.awareness) {
          removeAwarenessStates(this.#o.awareness, [message.stream], REMOTE);
        }
        return;
      case SealedMessage.snapshotResult:
        return;
    }
  }

  /**
   * Envelopes are taken in strictly by seq. The server sends them in order on one socket, but
   * this device's own envelopes come back as acks, which may overtake or trail what another
   * process relays; so each waits here until the one before it has been taken in.
   */
  #queue(seq: number, bytes: Uint8Array, own: boolean): void {
    if (seq <= this.#o.replica.since) return;
    if (!this.#pending.has(seq) || own) this.#pending.set(seq, { bytes, own });
  }

  #drain(): void {
    const replica = this.#o.replica;
    for (;;) {
      // A snapshot sits at the seq it covers and may jump ahead of `since`.
      const following = this.#pending.get(replica.since + 1);
      const next = following
        ? { seq: replica.since + 1, ...following }
        : this.#firstSnapshotAhead();
      if (!next) break;
      const before = replica.since;
      const seq = next.seq;
      this.#pending.delete(seq);
      const receipt = next.own
        ? replica.receiveOwn(seq, next.bytes)
        : replica.receive(seq, next.bytes);
      if (receipt.kind === 'set-aside') this.emit('set-aside', [receipt.entry]);
      this.emit('receipt', [receipt, seq]);
      if (replica.since === before) break;
    }
    for (const seq of this.#pending.keys()) if (seq <= replica.since) this.#pending.delete(seq);
    this.#watchGap();
    this.#maybeSynced();
  }

  #firstSnapshotAhead(): { seq: number; bytes: Uint8Array; own: boolean } | undefined {
    const since = this.#o.replica.since;
    let first: number | null = null;
    for (const seq of this.#pending.keys()) if (first === null || seq < first) first = seq;
    if (first === null || first <= since) return undefined;
    const entry = this.#pending.get(first)!;
    return isSnapshot(entry.bytes) ? { seq: first, ...entry } : undefined;
  }

  /** Something is missing below what is waiting: ask the server again from `since`. */
  #watchGap(): void {
    if (this.#pending.size === 0) {
      if (this.#gapTimer) clearTimeout(this.#gapTimer);
      this.#gapTimer = null;
      return;
    }
    if (this.#gapTimer) return;
    this.#gapTimer = setTimeout(() => {
      this.#gapTimer = null;
      if (this.#pending.size === 0) return;
      this.#send({
        type: SealedMessage.hello,
        since: this.#o.replica.since,
        stream: this.doc.clientID,
      });
    }, GAP_WAIT_MS);
  }

  #maybeSynced(): void {
    if (this.#backlogDone && this.#pending.size === 0 && this.#status.kind === 'syncing') {
      this.#setStatus({ kind: 'synced' });
    }
  }

  #takePresence(bytes: Uint8Array): void {
    const awareness = this.#o.awareness;
    if (!awareness) return;
    let opened;
    try {
      opened = openEnvelope(bytes, this.#o.keyring);
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      return;
    }
    const { envelope, payload } = opened;
    if (envelope.kind !== EnvelopeKind.presence) return;
    // Presence speaks only for a member device's own stream, and only moves forward.
    if (!this.#o.replica.partnerOf(envelope.author)) return;
    if (!this.#o.replica.streamMayBe(envelope.stream, envelope.author)) return;
    if (envelope.stream === this.doc.clientID) return;
    const last = this.#lastPresence.get(envelope.stream) ?? 0;
    if (envelope.counter <= last) return;
    this.#lastPresence.set(envelope.stream, envelope.counter);
    const json = new TextDecoder().decode(payload);
    applyAwarenessUpdate(
      awareness,
      encodePresenceUpdate(envelope.stream, envelope.counter, json === '' ? 'null' : json),
      REMOTE,
    );
  }

  #forgetRemotePresence(): void {
    const awareness = this.#o.awareness;
    if (!awareness) return;
    const others = [...awareness.getStates().keys()].filter((id) => id !== this.doc.clientID);
    removeAwarenessStates(awareness, others, REMOTE);
    this.#lastPresence.clear();
  }

  #sendPresence(): void {
    const awareness = this.#o.awareness;
    if (!awareness || !this.#socket || this.#socket.readyState !== 1) return;
    const state = awareness.getLocalState();
    const payload = new TextEncoder().encode(state === null ? '' : JSON.stringify(state));
    this.#presenceCounter++;
    const sealed = sealEnvelope({
      identity: this.#o.identity,
      keyring: this.#o.keyring,
      kind: EnvelopeKind.presence,
      stream: this.doc.clientID,
      counter: this.#presenceCounter,
      payload,
    });
    this.#send({ type: SealedMessage.presence, envelope: sealed.bytes });
  }

  #announceSelf(): void {
    const me = this.#o.identity.signing.publicKey;
    if (this.#o.replica.partnerOf(me) !== null) return;
    if (this.#o.outbox.entries().some((e) => kindOf(e.envelope) === EnvelopeKind.member)) return;
    this.#sealAndSend(
      EnvelopeKind.member,
      encodeMemberPayload({
        partnerId: this.#o.partnerId,
        agreementKey: this.#o.identity.agreement.publicKey,
      }),
    );
  }

  #sealAndSend(
    kind: typeof EnvelopeKind.update | typeof EnvelopeKind.member,
    payload: Uint8Array,
  ): void {
    const { counter, prev } = this.#writer.next();
    const sealed = sealEnvelope({
      identity: this.#o.identity,
      keyring: this.#o.keyring,
      kind,
      stream: this.doc.clientID,
      counter,
      prev,
      payload,
    });
    this.#writer.advance(sealed);
    this.#o.outbox.add({ stream: this.doc.clientID, counter, envelope: sealed.bytes });
    this.#send({ type: SealedMessage.submit, envelope: sealed.bytes });
  }

  #send(message: Parameters<typeof encodeDeviceMessage>[0]): void {
    const socket = this.#socket;
    if (socket && socket.readyState === 1) socket.send(encodeDeviceMessage(message));
  }
}

/** How long an envelope waits for the one before it before the device asks the server again. */
const GAP_WAIT_MS = 2_000;

/** The envelope's kind: its second byte (docs/protocol.md, "Envelopes"). */
function kindOf(envelope: Uint8Array): number | undefined {
  return envelope[1];
}

function isSnapshot(bytes: Uint8Array): boolean {
  return kindOf(bytes) === EnvelopeKind.snapshot;
}

/** 0.5 s, doubling to 30 s, with jitter; stops when the server said the space is gone. */
function defaultDelay(attempt: number, code: number): number | null {
  if (code === CloseCode.spaceGone || code === CloseCode.chainConflict) return null;
  const base = Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 6));
  return base / 2 + Math.random() * (base / 2);
}
