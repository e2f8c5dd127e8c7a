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
import type * as Y from 'yjs';
import { toBase64Url } from '../bytes.js';
import { sealSoon, verifyEnvelopeAhead } from '../envelopes.js';
import { CandidateKeys } from './CandidateKeys.js';
import { Compactor } from './Compactor.js';
import { InOrder } from './InOrder.js';
import { KeysWaiters, type NotStored } from './KeysWaiters.js';
import { LocalSealing } from './LocalSealing.js';
import { PresenceChannel } from './PresenceChannel.js';
import { kindOf } from './Outbox.js';
import type {
  ProviderEvents,
  ProviderOptions,
  ProviderStatus,
  SocketLike,
} from './providerTypes.js';
import { ResendPacer } from './ResendPacer.js';
import { REMOTE, STORED } from './SealedReplica.js';

export type { ProviderEvents, ProviderOptions, ProviderStatus, SocketLike };

/**
 * Keeps a Y.Doc in a sealed space in sync (docs/protocol.md): seals every local change made while
 * connected into the device's stream and the outbox before sending, and holds the changes made
 * while not connected to seal them as one envelope per stream (or a few) once the socket is open
 * (LocalSealing); resends the outbox on every connect, paced (idempotent on the server;
 * ResendPacer), feeds everything the server sends through the replica's checks in seq order
 * (InOrder), seals presence (PresenceChannel) and writes snapshots when synced (Compactor).
 * Reconnects by itself unless the server said not to (`reconnectDelay` returns null) or the app
 * said so (`disconnect()`); `connect()` starts again.
 * It seals only what is written while it is attached: a change made to the document with no
 * provider on it is not sent by a later one. Changes with origin `REMOTE` (the replica's) or
 * `STORED` (a document loaded from the device's store) are never sealed.
 */
export class SealedProvider extends ObservableV2<ProviderEvents> {
  readonly doc: Y.Doc;
  readonly #o: ProviderOptions;
  /** This device's signing key, as the log names it. */
  readonly #key: string;
  /** What this page writes: sealed into its streams and the outbox, or held while not connected. */
  readonly #writes: LocalSealing;
  /** Where the server stored this device's member statement, until the replica passes it. */
  #memberSeq: number | null = null;
  /** The socket is open: changes are sealed as they are made. */
  #open = false;
  readonly #inOrder: InOrder;
  readonly #candidates: CandidateKeys;
  readonly #presence: PresenceChannel | null;
  readonly #resend: ResendPacer;
  readonly #compactor: Compactor;
  #socket: SocketLike | null = null;
  /** The stream the current socket's hello named: presence speaks for it. */
  #helloStream = 0;
  #status: ProviderStatus = { kind: 'disconnected', code: 1000, reason: 'not connected' };
  #attempts = 0;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #backlogDone = false;
  #destroyed = false;
  /** The app called `disconnect()`: no socket until `connect()`. */
  #held = false;
  readonly #off: (() => void)[] = [];
  /** Keys statements sealed by `submitKeys`, until the replica has taken them in. */
  readonly #keys = new KeysWaiters();
  /** The last server message waiting for its envelopes to be verified ahead (`#take`), or null. */
  #intake: Promise<void> | null = null;

  constructor(options: ProviderOptions) {
    super();
    this.#o = options;
    this.#key = toBase64Url(options.identity.signing.publicKey);
    this.doc = options.replica.doc;
    this.#resend = new ResendPacer(
      options.outbox,
      (envelope) => this.#send({ type: SealedMessage.submit, envelope }),
      options.resendPace ?? { window: 300, perSecond: 80 },
    );
    this.#compactor = new Compactor({
      replica: options.replica,
      every: options.snapshotEvery ?? 300,
      send: (covers, payload) => this.#sendSnapshot(covers, payload),
    });
    this.#candidates = new CandidateKeys(options.candidateKeys ?? null, () => {
      if (this.#destroyed) return;
      this.#inOrder.drain();
      this.#maybeSynced();
    });
    this.#inOrder = new InOrder(options.replica, {
      receipt: (receipt, seq) => {
        // A snapshot is served at the seq it covers.
        if (receipt.kind === 'snapshot') this.#compactor.seen(seq);
        if (receipt.kind === 'set-aside') this.emit('set-aside', [receipt.entry]);
        if (receipt.kind === 'epoch' && receipt.unopened)
          this.emit('set-aside', [receipt.unopened]);
        if (receipt.kind === 'epoch' && receipt.removed.includes(receipt.by)) this.#afterLeave();
        this.#keys.taken(receipt, seq);
        this.emit('receipt', [receipt, seq]);
        if (receipt.kind === 'applied') return;
        // A rules statement, or a snapshot carrying one, may have moved the log past this Mend.
        if (this.#stopIfPaused()) return;
        // The membership moved: a device whose presence came first may show now, and a device
        // waiting for its link may announce itself.
        this.#presence?.retry();
        if (this.#backlogDone) this.#writes.announce();
      },
      missing: (entry) => this.emit('tamper', [entry.detail]),
      askAgain: () => this.#sendHello(),
      keysFor: () => this.#candidates.current(),
    });
    this.#writes = new LocalSealing({
      doc: this.doc,
      options,
      isOpen: () => this.#open,
      isSynced: () => this.synced,
      isDestroyed: () => this.#destroyed,
      send: (entry) => this.#resend.send(entry),
      changed: () => this.emit('waiting', [this.waiting]),
      carried: (any) => this.emit('carried', [any]),
    });
    this.#writes.begin();
    const onUpdate = (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE && origin !== STORED) this.#writes.change(update);
    };
    this.doc.on('update', onUpdate);
    this.#off.push(() => this.doc.off('update', onUpdate));
    const awareness = options.awareness;
    this.#presence = awareness
      ? new PresenceChannel({
          awareness,
          identity: options.identity,
          keyring: options.keyring,
          replica: options.replica,
        })
      : null;
    if (this.#presence) this.#off.push(this.#presence.watchLocal(() => this.#sendPresence()));
    if (options.connect ?? true) this.#connect();
  }

  /**
   * Opens a socket now unless one is open or opening, cancelling a scheduled retry, and counts
   * attempts from 1 again: after `disconnect()`, after the server refused and `reconnectDelay`
   * said stop, or to retry at once (the device came back online).
   */
  connect(): void {
    if (this.#destroyed) return;
    this.#held = false;
    this.#attempts = 0;
    if (this.#socket) return;
    this.#cancelRetry();
    this.#connect();
  }

  /**
   * Closes the socket (1000) and cancels any retry; nothing reconnects until `connect()`. What
   * is written from now on is held (`held`), also when no socket was open (the device is offline).
   */
  disconnect(): void {
    if (this.#destroyed) return;
    this.#held = true;
    this.#cancelRetry();
    void this.#writes.holdingReady();
    const socket = this.#socket;
    if (!socket) return;
    this.#socket = null;
    socket.close(1000, 'disconnected');
    this.#closed({ code: 1000, reason: 'disconnected' });
  }

  get status(): ProviderStatus {
    return this.#status;
  }

  get synced(): boolean {
    return this.#status.kind === 'synced';
  }

  /**
   * Changes of this device the server has not stored yet: envelopes not acknowledged, and
   * changes held while not connected, not sealed yet.
   */
  get waiting(): number {
    return this.#writes.waiting;
  }

  /**
   * This device's member statement is on its way and its replica has not taken it in yet:
   * waiting for what it holds to go first, for the server, or stored and waiting for what was
   * stored before it. Whoever waits for this device to be in waits for it (`admission`).
   */
  get announcing(): boolean {
    const memberSeq = this.#memberSeq;
    if (memberSeq !== null && this.#o.replica.since < memberSeq) return true;
    return this.#writes.memberOnItsWay;
  }

  /**
   * Loads what holds changes made while not connected (it is loaded by itself when needed);
   * resolves once it is there and knows whether it may hold the current stream's changes. At
   * once without `held`.
   */
  holdingReady(): Promise<void> {
    return this.#writes.holdingReady();
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

  /**
   * Seals a keys statement (a link, docs/protocol.md "Linking a device") into this device's
   * stream now, through the outbox like any envelope, and resolves with the seq the server
   * stored it at once the replica has taken it in. Rejects with a KeysNotStoredError:
   * `set-aside` when the replica set it aside (as every other device would), `no-seq` when the
   * server answered for it without a seq (stored before and compacted away since: write it
   * again), `closed` when the provider is destroyed first. Sent at once if connected, else on
   * the next connect.
   */
  submitKeys(payload: Uint8Array): Promise<number> {
    if (this.#destroyed) return Promise.reject(new KeysNotStoredError('closed'));
    return new Promise((resolve, reject) => {
      // Sealed now, or after changes held offline (they were written before).
      this.#writes.seal(EnvelopeKind.keys, payload, this.doc.clientID, (at) =>
        this.#keys.wait(at, {
          resolve,
          reject: (reason, detail) => reject(new KeysNotStoredError(reason, detail)),
        }),
      );
    });
  }

  /**
   * Resolves once every server message received so far is handled: messages that carry
   * envelopes wait for them to be verified ahead (`#take`), a few milliseconds.
   */
  async taken(): Promise<void> {
    while (this.#intake !== null) await this.#intake;
  }

  /**
   * Writes a snapshot of the log up to what the replica took in now, whatever the count since
   * the last one (after a key change: docs/protocol.md, "Snapshots"), sealed with the newest
   * epoch held. Returns the seq it covers, or null when it cannot now (not synced, one already
   * waits for its answer, or the hash at the replica's tip is not known); the `snapshot` event
   * says how the server answered.
   */
  compactNow(): number | null {
    if (!this.synced || this.#inOrder.size > 0) return null;
    return this.#compactor.now();
  }

  /**
   * The page may be going away (hidden, or closing): what still waits for the platform's
   * signature is sealed now, into the outbox and its store, so the next page sends it if this
   * one does not (docs/security.md, "Signing with the platform").
   */
  settle(): void {
    if (!this.#destroyed) this.#writes.settle();
  }

  /** Envelopes of this page waiting for the platform's signature (`LocalSealing.signing`). */
  get signing(): number {
    return this.#writes.signing;
  }

  /** Resolves once everything asked to be sealed so far is sealed (`LocalSealing.signed`). */
  signed(): Promise<void> {
    return this.#writes.signed();
  }

  override destroy(): void {
    this.#writes.destroy();
    this.#keys.close();
    this.#destroyed = true;
    this.#cancelRetry();
    this.#resend.stop();
    this.#inOrder.dispose();
    for (const off of this.#off) off();
    this.#socket?.close(1000, 'closed');
    this.#socket = null;
    super.destroy();
  }

  #setStatus(status: ProviderStatus): void {
    this.#status = status;
    this.emit('status', [status]);
  }

  /**
   * Whether the replica is paused at a rules version this Mend does not know (docs/protocol.md,
   * "Rules versions"): then the socket closes and stays closed, as after `disconnect()`, and the
   * app is told. Changes made meanwhile are held on the device and go once a newer Mend opens it.
   */
  #stopIfPaused(): boolean {
    const version = this.#o.replica.paused;
    if (version === null) return false;
    this.disconnect();
    this.emit('paused', [version]);
    return true;
  }

  #cancelRetry(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
  }

  #connect(): void {
    if (this.#destroyed || this.#held || this.#stopIfPaused()) return;
    this.#setStatus({ kind: 'connecting' });
    const socket = this.#o.openSocket();
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    socket.onopen = () => {
      this.#attempts = 0;
      this.#backlogDone = false;
      this.#open = true;
      this.#setStatus({ kind: 'syncing' });
      // The server may hold boxes for a key change it did not before: a snapshot held back
      // for its key is tried again (docs/protocol.md, "Catching up across a key change").
      this.#candidates.reset();
      this.#inOrder.retry();
      this.#helloStream = this.doc.clientID;
      this.#sendHello();
      this.#resend.start();
      this.#writes.next();
      if (this.#presence?.hasLocalState) this.#sendPresence();
    };
    socket.onmessage = (event) => {
      // A socket closed by `disconnect()` may still deliver what was in flight: not this one's.
      if (this.#socket !== socket) return;
      if (!(event.data instanceof ArrayBuffer)) return socket.close(CloseCode.unsupportedData);
      let message: ServerMessage;
      try {
        message = decodeServerMessage(new Uint8Array(event.data));
      } catch (error) {
        if (!(error instanceof SealedWireError)) throw error;
        this.emit('tamper', [`the server sent a message Mend cannot read (${error.message})`]);
        return;
      }
      this.#take(socket, message);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#closed(event);
      this.#scheduleReconnect(event.code);
    };
  }

  #closed(event: { code: number; reason: string }): void {
    this.#open = false;
    // What is written from now on may be held.
    void this.#writes.holdingReady();
    this.#resend.stop();
    this.#compactor.disconnected();
    this.#setStatus({ kind: 'disconnected', code: event.code, reason: event.reason });
    this.#presence?.forgetOthers();
  }

  #scheduleReconnect(code: number): void {
    if (this.#destroyed || this.#held) return;
    this.#attempts++;
    const delay = (this.#o.reconnectDelay ?? defaultDelay)(this.#attempts, code);
    if (delay === null) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#connect();
    }, delay);
  }

  /**
   * Hands a server message to `#handle` once the envelopes it carries are verified ahead
   * (`verifyEnvelopeAhead`: the platform's Ed25519, many at once, off the synchronous path), in
   * the order the messages came. A message that carries none and finds nothing waiting is
   * handled at once. What waits for a socket that has since closed is dropped, as what it
   * delivers after `disconnect()` is: the server serves it again on the next connection.
   */
  #take(socket: SocketLike, message: ServerMessage): void {
    const envelopes = envelopesIn(message);
    if (envelopes.length === 0 && this.#intake === null) return this.#handle(message);
    const spaceId = this.#o.replica.spaceId;
    const ahead = Promise.all(envelopes.map((bytes) => verifyEnvelopeAhead(bytes, spaceId)));
    const turn: Promise<void> = Promise.all([this.#intake, ahead])
      .then(() => {
        if (!this.#destroyed && this.#socket === socket) this.#handle(message);
      })
      // A message whose handling throws (a listener's bug) must not stop the ones behind it;
      // the error surfaces as it did when messages were handled in the socket's callback.
      .catch((error: unknown) => {
        queueMicrotask(() => {
          throw error;
        });
      })
      // Nothing waits any more, unless another message came meanwhile.
      .finally(() => {
        if (this.#intake === turn) this.#intake = null;
      });
    this.#intake = turn;
  }

  #handle(message: ServerMessage): void {
    switch (message.type) {
      case SealedMessage.backlog: {
        const back = this.#o.replica.checkServerHead(message.head);
        if (back) this.emit('tamper', [back]);
        for (const entry of message.entries) this.#inOrder.add(entry.seq, entry.envelope, false);
        if (message.last) {
          this.#inOrder.passOverMissing(message.head);
          this.#backlogDone = true;
          this.#writes.announce();
        } else {
          this.#inOrder.drain();
        }
        this.#maybeSynced();
        return;
      }
      case SealedMessage.envelope:
        this.#inOrder.add(message.seq, message.envelope, false);
        this.#inOrder.drain();
        this.#maybeSynced();
        return;
      case SealedMessage.ack: {
        this.#keys.acked(message.stream, message.counter, message.seq);
        const entry = this.#o.outbox.find(message.stream, message.counter);
        const before = this.#o.outbox.size;
        this.#o.outbox.acknowledge(message.stream, message.counter);
        // seq 0: stored earlier and compacted away since; the snapshot carries it.
        if (entry && message.seq > 0) {
          if (kindOf(entry.envelope) === EnvelopeKind.member) this.#memberSeq = message.seq;
          this.#inOrder.add(message.seq, entry.envelope, true);
        }
        this.#inOrder.drain();
        if (this.#o.outbox.size !== before) this.emit('waiting', [this.waiting]);
        this.#keys.covered(this.#o.replica.since);
        this.#resend.acknowledged();
        this.#maybeSynced();
        return;
      }
      case SealedMessage.presenceRelay:
        this.#presence?.take(message.envelope, this.#helloStream);
        return;
      case SealedMessage.left:
        this.#presence?.left(message.stream);
        return;
      case SealedMessage.snapshotResult:
        this.#compactor.answered(message.coversSeq);
        this.emit('snapshot', [message.coversSeq, message.stored]);
        this.#maybeSynced();
        return;
    }
  }

  #maybeSynced(): void {
    if (this.#backlogDone && this.#inOrder.size === 0 && this.#status.kind === 'syncing') {
      this.#setStatus({ kind: 'synced' });
      // Earlier pages' held changes continue their streams: only now is their head known.
      this.#writes.synced();
    }
    if (this.synced && this.#inOrder.size === 0) {
      this.#writes.next();
      this.#writes.carryOver();
      this.#writes.stateRules();
      this.#compactor.consider();
    }
  }

  /**
   * A device left, moving the space to a new key it never held (docs/protocol.md, "Leaving a
   * space"), so it could not write the snapshot that follows every key change. The first
   * current device in the log's order writes it, once caught up: one device, so that the
   * others need not send the space's whole state for nothing.
   */
  #afterLeave(): void {
    const { replica } = this.#o;
    const first = replica
      .devices()
      .find((d) => !d.recovery && replica.standing.isCurrent(d.signingKey));
    if (first?.signingKey === this.#key) this.#compactor.owe();
  }

  /** Signed by the platform where it can, then sent on the socket it was written for. */
  #sendSnapshot(covers: { seq: number; hash: Uint8Array }, payload: Uint8Array): void {
    const socket = this.#socket;
    const { identity, keyring } = this.#o;
    const stream = this.#helloStream;
    const kind = EnvelopeKind.snapshot;
    sealSoon({ identity, keyring, kind, stream, counter: 0, covers, payload }, ({ bytes }) =>
      this.#send({ type: SealedMessage.snapshot, envelope: bytes }, socket),
    );
  }

  #sendHello(): void {
    const since = this.#o.replica.since;
    this.#send({ type: SealedMessage.hello, since, stream: this.#helloStream });
  }

  #sendPresence(): void {
    const socket = this.#socket;
    if (!this.#presence || !socket || socket.readyState !== 1) return;
    this.#presence.seal(this.#helloStream, (envelope) =>
      this.#send({ type: SealedMessage.presence, envelope }, socket),
    );
  }

  /**
   * Sends on the open socket; `on`, for what was signed a moment later: only if that socket is
   * still the one open, since a message sealed for one socket is not sent on the next.
   */
  #send(message: Parameters<typeof encodeDeviceMessage>[0], on = this.#socket): void {
    const socket = this.#socket;
    if (socket && socket === on && socket.readyState === 1) {
      socket.send(encodeDeviceMessage(message));
    }
  }
}

const notStored: Record<NotStored, string> = {
  'set-aside': 'This device’s own statement was refused',
  'no-seq': 'The server stored the statement earlier and no longer says where; write it again.',
  closed: 'The space was closed before the server stored the statement.',
} as const;

/** Why `SealedProvider.submitKeys` did not resolve with a seq. */
export class KeysNotStoredError extends Error {
  override readonly name = 'KeysNotStoredError';
  constructor(
    readonly reason: NotStored,
    detail?: string,
  ) {
    super(detail === undefined ? notStored[reason] : `${notStored[reason]}: ${detail}`);
  }
}

/** 0.5 s, doubling to 30 s, with jitter; stops when the server said the space is gone. */
function defaultDelay(attempt: number, code: number): number | null {
  if (code === CloseCode.spaceGone || code === CloseCode.chainConflict) return null;
  const base = Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 6));
  return base / 2 + Math.random() * (base / 2);
}

/** The envelopes a server message carries, to verify ahead of taking them in. */
function envelopesIn(message: ServerMessage): readonly Uint8Array[] {
  switch (message.type) {
    case SealedMessage.backlog:
      return message.entries.map((entry) => entry.envelope);
    case SealedMessage.envelope:
    case SealedMessage.presenceRelay:
      return [message.envelope];
    default:
      return [];
  }
}
