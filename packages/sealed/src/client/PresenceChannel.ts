import { EnvelopeKind } from '@mend/protocol';
import { applyAwarenessUpdate, removeAwarenessStates, type Awareness } from 'y-protocols/awareness';
import { openEnvelope, sealSoon, type OpenedEnvelope } from '../envelopes.js';
import { SealedError } from '../errors.js';
import type { DeviceIdentity } from '../identity.js';
import type { SpaceKeyring } from '../SpaceKeyring.js';
import { encodePresenceUpdate } from './presenceUpdate.js';
import { REMOTE, type SealedReplica } from './SealedReplica.js';

/** How many streams' presence may wait for their device to be a member here. */
const EARLY_STREAMS = 8;

export interface PresenceOptions {
  readonly awareness: Awareness;
  readonly identity: DeviceIdentity;
  readonly keyring: SpaceKeyring;
  readonly replica: SealedReplica;
}

/**
 * Presence in a sealed space (docs/protocol.md, "Payloads"): this device's awareness state goes
 * out sealed and signed for the stream its socket named; another device's state reaches the
 * Awareness only if that device is a member, speaks for its own stream, and its counter grew.
 * The server relays presence without reading it, so nothing else here is trusted.
 */
export class PresenceChannel {
  readonly #o: PresenceOptions;
  #counter = 0;
  readonly #last = new Map<number, number>();
  /** Presence from devices not (yet) members here, the newest per stream, oldest first. */
  readonly #early = new Map<number, OpenedEnvelope>();

  constructor(options: PresenceOptions) {
    this.#o = options;
  }

  /**
   * Calls `changed` when this device's own state changes (set, renewed or removed), not when a
   * remote one does. Returns the unsubscribe.
   */
  watchLocal(changed: () => void): () => void {
    const { awareness } = this.#o;
    const onUpdate = (
      { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
      origin: unknown,
    ) => {
      if (origin === REMOTE) return;
      // The Awareness keeps the client id the document had when it was made; the provider may
      // have moved the document to a fresh one since (a stream cannot start twice).
      if ([...added, ...updated, ...removed].includes(awareness.clientID)) changed();
    };
    awareness.on('update', onUpdate);
    return () => awareness.off('update', onUpdate);
  }

  get hasLocalState(): boolean {
    return this.#o.awareness.getLocalState() !== null;
  }

  /**
   * This device's state now (empty for "gone") as a presence envelope of `stream`, handed to
   * `sealed` once signed (`sealSoon`: by the platform where it can). Its counter is drawn now,
   * so a later state always carries a higher one, and a device shows only a state newer than
   * the last it showed.
   */
  seal(stream: number, sealed: (envelope: Uint8Array) => void): void {
    const state = this.#o.awareness.getLocalState();
    const payload = new TextEncoder().encode(state === null ? '' : JSON.stringify(state));
    this.#counter++;
    sealSoon(
      {
        identity: this.#o.identity,
        keyring: this.#o.keyring,
        kind: EnvelopeKind.presence,
        stream,
        counter: this.#counter,
        payload,
      },
      (envelope) => sealed(envelope.bytes),
    );
  }

  /**
   * A relayed presence envelope; `ownStream` is this socket's (its echo is ignored). One from a
   * device this replica does not count as a member yet waits (`retry`): a device that arrives
   * speaks before its member statement is sequenced, and a device that reconnects hears who is
   * here before it has taken in the backlog that says who they are.
   */
  take(bytes: Uint8Array, ownStream: number): void {
    let opened: OpenedEnvelope;
    try {
      opened = openEnvelope(bytes, this.#o.keyring);
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      return;
    }
    const { envelope } = opened;
    if (envelope.kind !== EnvelopeKind.presence || envelope.stream === ownStream) return;
    if (this.#o.replica.partnerOf(envelope.author)) return this.#show(opened);
    const early = this.#early.get(envelope.stream);
    if (early && early.envelope.counter >= envelope.counter) return;
    this.#early.delete(envelope.stream);
    this.#early.set(envelope.stream, opened);
    // Any device the server lets in may send presence: what waits stays small.
    if (this.#early.size > EARLY_STREAMS) this.#early.delete(this.#early.keys().next().value!);
  }

  /** The replica took more of the log in: presence that waited for its author may show now. */
  retry(): void {
    for (const [stream, opened] of this.#early) {
      if (!this.#o.replica.partnerOf(opened.envelope.author)) continue;
      this.#early.delete(stream);
      this.#show(opened);
    }
  }

  /** A member device's state, if it speaks for its own stream and is newer than the last. */
  #show({ envelope, payload }: OpenedEnvelope): void {
    if (!this.#o.replica.streamMayBe(envelope.stream, envelope.author)) return;
    const last = this.#last.get(envelope.stream) ?? 0;
    if (envelope.counter <= last) return;
    this.#last.set(envelope.stream, envelope.counter);
    const json = new TextDecoder().decode(payload);
    let state: string;
    try {
      // The Awareness parses it again; one that does not parse must not throw in there.
      state = JSON.stringify(JSON.parse(json === '' ? 'null' : json));
    } catch {
      return;
    }
    applyAwarenessUpdate(
      this.#o.awareness,
      encodePresenceUpdate(envelope.stream, envelope.counter, state),
      REMOTE,
    );
  }

  /** The server says that stream's socket closed. */
  left(stream: number): void {
    this.#early.delete(stream);
    if (stream === this.#o.awareness.clientID) return;
    removeAwarenessStates(this.#o.awareness, [stream], REMOTE);
  }

  /** This device lost its socket: nobody else's presence can be vouched for now. */
  forgetOthers(): void {
    const { awareness } = this.#o;
    const others = [...awareness.getStates().keys()].filter((id) => id !== awareness.clientID);
    removeAwarenessStates(awareness, others, REMOTE);
    this.#last.clear();
    this.#early.clear();
  }
}
