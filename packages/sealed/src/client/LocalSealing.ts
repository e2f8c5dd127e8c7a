import { EnvelopeKind } from '@mend/protocol';
import * as Y from 'yjs';
import { toBase64Url } from '../bytes.js';
import { randomBytes, sha256 } from '../crypto.js';
import { Signing } from '../envelopes.js';
import { encodeMemberPayload, encodeRulesPayload } from '../payloads.js';
import type { OutboxEntry } from '../local/records.js';
import { StreamWriter } from '../StreamWriter.js';
import type { HeldSource } from './heldChanges.js';
import type { HeldSealer } from './HeldSealer.js';
import { kindOf } from './Outbox.js';
import type { ProviderOptions } from './providerTypes.js';

/** The envelopes a device seals into its own streams (snapshots and presence go apart). */
export type OwnKind =
  | typeof EnvelopeKind.update
  | typeof EnvelopeKind.member
  | typeof EnvelopeKind.keys
  | typeof EnvelopeKind.carried;

/** What LocalSealing needs of its provider. */
export interface LocalSealingHost {
  readonly doc: Y.Doc;
  readonly options: ProviderOptions;
  /** Whether the socket is open, the log is taken in whole, and the provider closed for good. */
  isOpen(): boolean;
  isSynced(): boolean;
  isDestroyed(): boolean;
  /** Sends an envelope now, after whatever is still being resent. */
  send(entry: OutboxEntry): void;
  /** The number of changes waiting may have changed. */
  changed(): void;
  /** The plaintext copy was carried over: `any`, a carried envelope holds what the log lacked. */
  carried(any: boolean): void;
}

/**
 * What this page writes into the space, in the order it was written: each change sealed into
 * this page's stream (signed by the platform where it can: `Signing`) and put in the outbox,
 * or, while not connected, held (`HeldSealer`, loaded on demand: a page that stays connected
 * never needs it) and sealed later as one envelope per stream. The statements a device makes
 * (member, keys, carried) go after whatever is held, since that was written before; those it
 * makes of itself once caught up (its member statement, the plaintext copy it carries over,
 * the rules it knows) are decided here too.
 */
export class LocalSealing {
  readonly #host: LocalSealingHost;
  readonly #o: ProviderOptions;
  readonly #doc: Y.Doc;
  /** This device's signing key, as the log names it. */
  readonly #key: string;
  /** Changes made before the provider, when they start this page's stream (`begin`). */
  #unsent: Uint8Array | null = null;
  /** Where each of this page's streams stands: the current one, and earlier ones still writing. */
  readonly #writers = new Map<number, StreamWriter>();
  /** Where changes made while not connected wait (`ProviderOptions.held`), or null. */
  readonly #holding: HeldSource | null;
  /**
   * What holds and seals them, once loaded: when a change is made while not connected, when a
   * socket closes, or at once when earlier pages left held changes. Until it is there, changes
   * are sealed at once, as without `held`, unless earlier pages' held changes must go first:
   * then they wait in `#early`.
   */
  #sealer: HeldSealer | null = null;
  #loading: Promise<void> | null = null;
  #notLoaded = false;
  #early: { readonly stream: number; readonly update: Uint8Array }[] = [];
  /** Member and carried envelopes, waiting for what is held to go first. */
  #afterHeld: (() => void)[] = [];
  /** A member statement was asked for and is not in the outbox yet. */
  #memberWaits = false;
  /** What this page seals, in order, signed by the platform where it can. */
  readonly #signing = new Signing();
  /** Envelopes of held changes in `#signing`. */
  #heldSigning = 0;
  /** The plaintext copy still to be carried over (`ProviderOptions.carry`). */
  #carry: Uint8Array | null;
  /** A rules statement was sealed (`stateRules`): once is enough. */
  #rulesStated = false;

  constructor(host: LocalSealingHost) {
    this.#host = host;
    this.#o = host.options;
    this.#doc = host.doc;
    this.#key = toBase64Url(this.#o.identity.signing.publicKey);
    this.#holding = this.#o.held ?? null;
    this.#carry = this.#o.carry ?? null;
    // A client id this document already wrote with (an earlier provider's stream, sealed and
    // maybe acknowledged long ago) cannot start its chain at 1 again: the server would close
    // the socket (4409). Yjs takes a new id between transactions; new writes start a new stream.
    const unsent = this.#o.unsent ?? null;
    const startsStream = unsent !== null && !this.#streamInUse(this.#doc.clientID, unsent);
    if (!startsStream && this.#streamInUse(this.#doc.clientID)) {
      this.#doc.clientID = this.#freshClientId();
    }
    if (startsStream) this.#unsent = unsent;
    if (this.#earlierHeld > 0) void this.holdingReady();
  }

  /** Seals what was written before the provider, as its own stream's start (the constructor). */
  begin(): void {
    const unsent = this.#unsent;
    this.#unsent = null;
    if (unsent) this.change(unsent);
  }

  /**
   * Changes of this device the server has not stored yet: envelopes not acknowledged, and
   * changes held while not connected, not sealed yet.
   */
  get waiting(): number {
    const held = this.#sealer ? this.#sealer.count : this.#earlierHeld + this.#early.length;
    // Held changes being signed are counted as held until they are stored.
    return this.#o.outbox.size + this.#signing.size - this.#heldSigning + held;
  }

  /**
   * Envelopes of this page waiting for their signature (held changes being sealed not counted:
   * they are stored as held until their envelopes are).
   */
  get signing(): number {
    return this.#signing.size - this.#heldSigning;
  }

  /** Resolves once everything asked to be sealed so far is sealed. */
  signed(): Promise<void> {
    return new Promise((resolve) => this.#signing.after(resolve));
  }

  /**
   * This device's member statement is asked for and not acknowledged: it waits for held changes
   * to go first, for its signature, or for the server. Whatever is sealed after it goes after it.
   */
  get memberOnItsWay(): boolean {
    if (this.#memberWaits) return true;
    return this.#o.outbox.entries().some((e) => kindOf(e.envelope) === EnvelopeKind.member);
  }

  /** See `SealedProvider.holdingReady`. */
  holdingReady(): Promise<void> {
    const source = this.#holding;
    if (source === null) return Promise.resolve();
    this.#loading ??= Promise.all([import('./HeldSealer.js'), source.load()]).then(
      ([{ HeldSealer }, holding]) => {
        if (this.#host.isDestroyed()) return;
        const sealer = new HeldSealer(holding, this.#heldHost());
        this.#sealer = sealer;
        const asked = sealer.ask(this.#doc.clientID);
        for (const { stream, update } of this.#early.splice(0)) {
          if (!sealer.take(stream, update)) this.seal(EnvelopeKind.update, update, stream);
        }
        sealer.next();
        return asked;
      },
      () => {
        // Not loaded (offline, and not in the cache): changes are sealed as they come.
        this.#notLoaded = true;
        for (const { stream, update } of this.#early.splice(0)) {
          this.seal(EnvelopeKind.update, update, stream);
        }
        for (const next of this.#afterHeld.splice(0)) next();
      },
    );
    return this.#loading;
  }

  /** The socket opened, or the log is taken in whole: held changes may go now. */
  next(): void {
    this.#sealer?.next();
  }

  /** Caught up with the log: earlier pages' held changes continue their streams. */
  synced(): void {
    this.#sealer?.synced();
  }

  /** A change made on this page: sealed now while connected, held otherwise. */
  change(update: Uint8Array): void {
    // Out of the space by its own log (it left, or was removed): every device would set a
    // change from it aside and tell both partners so. It stays on this page, which is going.
    if (this.#o.replica.standing.removedAt(this.#key) !== null) return;
    // Yjs moves a document to a new client id when a remote update wrote with its id: the
    // old stream is someone else's now, so the next change starts a new one.
    const stream = this.#doc.clientID;
    // The document's client id is always a stream this page started (see the constructor).
    if (!this.#writers.has(stream)) this.#writers.set(stream, new StreamWriter(stream));
    const sealer = this.#sealer;
    if (sealer) {
      if (!sealer.take(stream, update)) this.seal(EnvelopeKind.update, update, stream);
      return;
    }
    // A page whose signing key the platform holds alone gets what holds changes at its first:
    // that is where what waits for a signature goes when the page may go (`settle`).
    if (this.#holding !== null && (this.#keyHeld || !this.#host.isOpen())) void this.holdingReady();
    if (this.#loading !== null && !this.#notLoaded && this.#earlierHeld > 0) {
      this.#early.push({ stream, update });
      this.#host.changed();
      return;
    }
    this.seal(EnvelopeKind.update, update, stream);
  }

  /**
   * Seals `payload` into `stream` (the document's current one by default), into the outbox and
   * to the server; `sealedAt` says where, once sealed. Anything but an update waits for held
   * changes to go first.
   */
  seal(
    kind: OwnKind,
    payload: Uint8Array,
    stream = this.#doc.clientID,
    sealedAt?: (at: { stream: number; counter: number }) => void,
  ): void {
    if (kind === EnvelopeKind.member) this.#memberWaits = true;
    // Held changes come first: they were written before.
    if (kind !== EnvelopeKind.update && this.#behind) {
      this.#afterHeld.push(() => this.seal(kind, payload, this.#doc.clientID, sealedAt));
      return;
    }
    let writer = this.#writers.get(stream);
    if (!writer) {
      writer = new StreamWriter(stream);
      this.#writers.set(stream, writer);
    }
    const { identity, keyring } = this.#o;
    this.#signing.sealNext(
      writer,
      { identity, keyring, kind, payload },
      (sealed) => {
        const { stream, counter } = sealed.header;
        this.#sealed({ stream, counter, envelope: sealed.bytes }, kind, payload);
        sealedAt?.({ stream, counter });
      },
      kind === EnvelopeKind.update ? payload : undefined,
    );
    // Waiting for its signature: counted, and not saved on the device yet.
    if (this.signing > 0) this.#host.changed();
  }

  /**
   * Writes this device's member statement once, when the log does not name the device yet and
   * would admit it: a device linked into a seat that already has one waits until its replica
   * holds the link (docs/protocol.md, "Linking a device"), since a statement set aside stays so.
   */
  announce(): void {
    if (this.#named || this.memberOnItsWay) return;
    const { replica, identity, partnerId } = this.#o;
    const statement = { partnerId, agreementKey: identity.agreement.publicKey };
    if (!replica.wouldAdmit(identity.signing.publicKey, statement)) return;
    this.seal(EnvelopeKind.member, encodeMemberPayload(statement));
  }

  /**
   * Seals what of the plaintext copy the log lacks as a carried envelope, once caught up: judged
   * against the whole log (the genesis is in it), and after this device's member statement, so
   * every device takes it from a member.
   */
  carryOver(): void {
    const carry = this.#carry;
    if (carry === null) return;
    if (!this.#named && !this.memberOnItsWay) return;
    this.#carry = null;
    const missing = this.#o.replica.notInLog(carry);
    if (missing !== null) this.seal(EnvelopeKind.carried, missing);
    this.#host.carried(missing !== null);
  }

  /**
   * Once caught up, a device that knows rules that refuse more than the log's says so, once per
   * provider (docs/protocol.md, "Rules versions"): from the statement's seq on, every device
   * judges by them, and one that does not know them yet stops there until it is updated. A
   * device that is not a member yet states nothing (it would be set aside as a stranger's).
   */
  stateRules(): void {
    const { replica } = this.#o;
    if (this.#rulesStated || replica.rulesTightened <= replica.rulesVersion || !this.#named) {
      return;
    }
    this.#rulesStated = true;
    this.seal(EnvelopeKind.keys, encodeRulesPayload(replica.rulesTightened));
  }

  /**
   * The page may go (hidden, closed): what still waits for the platform's signature is kept for
   * the next page. With the key's bytes, noble signs it now, into the outbox (and its storage):
   * the same envelopes. A key the platform holds alone cannot sign now: the changes waiting are
   * held instead, ahead of anything held (`HeldSealer.holdFirst`), on the streams this page
   * holds, and sealed from there by this page while it lives, or by the next; statements stay in
   * line, and a next page asks again for those it needs (`announce`, `carryOver`, `stateRules`).
   */
  settle(): void {
    if (!this.#keyHeld) return this.#signing.finishAll();
    const sealer = this.#sealer;
    if (sealer === null) return;
    const taken = this.#signing.takeBack((stream) => sealer.mayHoldFirst(stream));
    if (taken.length > 0) sealer.holdFirst(taken);
  }

  destroy(): void {
    this.settle();
    this.#sealer?.destroy();
  }

  /** Whether the platform holds this device's signing key alone: nothing can sign at once. */
  get #keyHeld(): boolean {
    return this.#o.identity.signing.secretKey === null;
  }

  /** Whether the log names this device as a member of the space now. */
  get #named(): boolean {
    return this.#o.replica.partnerOf(this.#o.identity.signing.publicKey) !== null;
  }

  /** Changes earlier pages held, as the store handed them over. */
  get #earlierHeld(): number {
    let count = 0;
    for (const updates of this.#holding?.earlier.values() ?? []) count += updates.length;
    return count;
  }

  /** Whether held changes are to go first: a change made now goes after them. */
  get #behind(): boolean {
    if (this.#sealer) return this.#sealer.behind;
    return !this.#notLoaded && (this.#early.length > 0 || this.#earlierHeld > 0);
  }

  /** A sealed envelope goes into the outbox (and its storage), then to the server. */
  #sealed(entry: OutboxEntry, kind: EnvelopeKind, payload: Uint8Array): void {
    if (kind === EnvelopeKind.member) this.#memberWaits = false;
    this.#o.outbox.add(entry, kind === EnvelopeKind.update ? payload : null);
    this.#host.changed();
    this.#host.send(entry);
  }

  #heldHost(): ConstructorParameters<typeof HeldSealer>[1] {
    const { outbox, replica, identity } = this.#o;
    const host = this.#host;
    return {
      replica,
      outbox,
      device: identity.signing.publicKey,
      perEnvelope: this.#o.heldPerEnvelope ?? 1024 * 1024,
      writers: this.#writers,
      writer: (stream, head) => new StreamWriter(stream, head),
      hash: sha256,
      isOpen: () => host.isOpen(),
      isSynced: () => host.isSynced(),
      afterSealing: (run) => this.#signing.after(run),
      sealAll: (writer, payloads, sealed) => {
        const entries: OutboxEntry[] = [];
        if (payloads.length === 0) return sealed(entries);
        const { identity, keyring } = this.#o;
        for (const payload of payloads) {
          const input = { identity, keyring, kind: EnvelopeKind.update, payload };
          this.#heldSigning += 1;
          this.#signing.sealNext(writer, input, ({ header, bytes }) => {
            this.#heldSigning -= 1;
            entries.push({ stream: header.stream, counter: header.counter, envelope: bytes });
            if (entries.length === payloads.length) sealed(entries);
          });
        }
      },
      send: (entry) => host.send(entry),
      sealNow: (stream, update) => this.seal(EnvelopeKind.update, update, stream),
      changed: () => host.changed(),
      lost: (stream) => {
        if (stream === this.#doc.clientID) this.#doc.clientID = this.#freshClientId();
      },
      caughtUp: () => {
        for (const next of this.#afterHeld.splice(0)) next();
      },
    };
  }

  /**
   * Whether `stream` was written with before: by the log, the outbox, or the document apart from
   * `unsent` (changes made before this provider, which start that stream).
   */
  #streamInUse(stream: number, unsent: Uint8Array | null = null): boolean {
    const doc = this.#doc;
    const written = doc.store.clients.has(stream) && !holdsAllOf(unsent, doc, stream);
    return (
      written ||
      this.#sealer?.holds(stream) ||
      this.#holding?.earlier.has(stream) ||
      this.#o.replica.knowsStream(stream) ||
      this.#o.outbox.entries().some((e) => e.stream === stream)
    );
  }

  #freshClientId(): number {
    for (;;) {
      const bytes = randomBytes(4);
      const id = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
      if (!this.#streamInUse(id)) return id;
    }
  }
}

/** Whether `update` holds every struct `doc` has of `client`, from its first. */
function holdsAllOf(update: Uint8Array | null, doc: Y.Doc, client: number): boolean {
  if (update === null) return false;
  const { from, to } = Y.parseUpdateMeta(update);
  return from.get(client) === 0 && to.get(client) === Y.getState(doc.store, client);
}
