import { EnvelopeKind } from '@mend/protocol';
import { applyAwarenessUpdate, removeAwarenessStates, type Awareness } from 'y-protocols/awareness';
import { openEnvelope, sealSoon } from '../envelopes.js';
import { SealedError } from '../errors.js';
import type { DeviceIdentity } from '../identity.js';
import type { SpaceKeyring } from '../SpaceKeyring.js';
import { encodePresenceUpdate } from './presenceUpdate.js';
import { REMOTE, type SealedReplica } from './SealedReplica.js';

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

  /** A relayed presence envelope; `ownStream` is this socket's (its echo is ignored). */
  take(bytes: Uint8Array, ownStream: number): void {
    const { awareness, keyring, replica } = this.#o;
    let opened;
    try {
      opened = openEnvelope(bytes, keyring);
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      return;
    }
    const { envelope, payload } = opened;
    if (envelope.kind !== EnvelopeKind.presence) return;
    if (!replica.partnerOf(envelope.author)) return;
    if (!replica.streamMayBe(envelope.stream, envelope.author)) return;
    if (envelope.stream === ownStream) return;
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
      awareness,
      encodePresenceUpdate(envelope.stream, envelope.counter, state),
      REMOTE,
    );
  }

  /** The server says that stream's socket closed. */
  left(stream: number): void {
    if (stream === this.#o.awareness.clientID) return;
    removeAwarenessStates(this.#o.awareness, [stream], REMOTE);
  }

  /** This device lost its socket: nobody else's presence can be vouched for now. */
  forgetOthers(): void {
    const { awareness } = this.#o;
    const others = [...awareness.getStates().keys()].filter((id) => id !== awareness.clientID);
    removeAwarenessStates(awareness, others, REMOTE);
    this.#last.clear();
  }
}
