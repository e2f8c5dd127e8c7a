import type { PartnerId } from '@mend/model';
import { decodeEnvelope, EnvelopeKind, type Envelope, type SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import { fromBase64Url, toBase64Url } from '../bytes.js';
import { sha256 } from '../crypto.js';
import { decryptEnvelope, verifyEnvelope, type VerifiedEnvelope } from '../envelopes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import type { DeviceIdentity } from '../identity.js';
import {
  decodeMemberPayload,
  encodeSnapshotPayload,
  type LinkPayload,
  type MemberPayload,
  type SnapshotLink,
  type SnapshotMember,
} from '../payloads.js';
import type { SpaceKeyring } from '../SpaceKeyring.js';
import { StreamChains } from '../StreamChains.js';
import { judgeCarried } from './carriedRules.js';
import { carryOver } from './carryOver.js';
import {
  Membership,
  type LinkRecord,
  type SpaceDevice,
  type Standing,
  type StayingDevice,
} from './Membership.js';
import {
  openKeysList,
  openOwnKey,
  openSnapshotKeys,
  snapshotKeyWanted,
  takeKeysStatement,
  type CandidateKey,
  type ReplicaKeys,
} from './replicaKeys.js';
import { encodeReplicaState, readReplicaState } from './replicaState.js';
import { modelRules, type RulesBook } from './rulesBook.js';
import {
  forgetUnopened,
  recordOnce,
  SetAsideReason,
  type Receipt,
  type SetAside,
} from './setAside.js';
import { documentOf, holdsNothing, snapshotHides, UNREADABLE_SNAPSHOT } from './snapshotCheck.js';

import { REMOTE, STORED } from './origins.js';

export { REMOTE, STORED };

export {
  SetAsideReason,
  type RulesBook,
  type CandidateKey,
  type Receipt,
  type SetAside,
  type SpaceDevice,
  type Standing,
  type StayingDevice,
};

export interface ReplicaOptions {
  readonly doc: Y.Doc;
  readonly keyring: SpaceKeyring;
  /** The signing key of the device that created the space: its member statement comes first. */
  readonly creator: Uint8Array;
  /**
   * This device's keys: it opens its own box in an epoch statement with them and adds the new
   * key to `keyring`. Without them no key is taken from the log (a replica that only watches).
   */
  readonly identity?: DeviceIdentity;
  /** The versions of the model's rules this device knows: this build's (`modelRules`) unless a test says otherwise. */
  readonly rules?: RulesBook;
}

/**
 * A device's verified view of a sealed space's log. Every envelope the server serves goes through
 * `receive`, in `seq` order (the provider orders them), and reaches the document only after it
 * passed, in this order: the space's order (seq), layout, space, signature, its stream's chain,
 * decryption, its author's membership and the model's authorship rules. Whatever fails is kept
 * aside with the reason and syncing goes on (docs/protocol.md, "Streams and chains").
 * Synchronous and free of I/O, so a property test can feed it any sequence.
 */
export class SealedReplica {
  readonly doc: Y.Doc;
  /**
   * The sequenced log alone: every accepted update in seq order, this device's own included once
   * the server stored them, and nothing unsent. Updates are judged against it, not against the
   * working document, so every device reaches the same verdict on the same envelope (the working
   * document also holds edits no other device has seen; packages/model SPEC.md, "Authorship").
   * It costs a second copy of the document in memory and a second apply per update.
   */
  #log = new Y.Doc();
  readonly spaceId: SpaceId;
  readonly #keyring: SpaceKeyring;
  readonly #identity: DeviceIdentity | null;
  readonly #rules: RulesBook;
  readonly #creator: string;
  #chains = new StreamChains();
  #membership: Membership;
  readonly #setAside: SetAside[] = [];
  /** The last envelope taken in and its hash: what a snapshot written now says it covers. */
  #tip: { readonly seq: number; readonly hash: Uint8Array } | null = null;
  #snapshotCovered = 0;

  constructor(options: ReplicaOptions) {
    this.doc = options.doc;
    this.#keyring = options.keyring;
    this.#identity = options.identity ?? null;
    this.#rules = options.rules ?? modelRules;
    this.spaceId = options.keyring.spaceId;
    this.#creator = toBase64Url(options.creator);
    this.#membership = new Membership(this.#creator);
  }

  /**
   * A replica exactly where `exportState()` left it: the same `since`, chains, members, set-aside
   * entries and snapshot tip, so it takes the next envelopes as the exported one would. Throws a
   * SealedError (`malformed`) for bytes that are not a state of this space and creator; nothing
   * is half-restored.
   *
   * It does not touch `options.doc`: the working document is restored from the device's stored
   * updates, which also hold its edits the server has not stored yet (the log state here holds
   * only what the server sequenced). The caller loads that document; the replica only keeps
   * applying to it.
   */
  static restore(options: ReplicaOptions, state: Uint8Array): SealedReplica {
    const s = readReplicaState(state, options.keyring.spaceId, options.creator);
    const replica = new SealedReplica(options);
    // In seq order, each epoch statement's own box opened on the way (a key this device took
    // from the log is in its keyring; opened again, should the keyring have been stored before
    // it): the next statement may be sealed with it.
    const keys = openKeysList(replica.#keys(), s.links);
    if (keys instanceof SealedError) {
      throw new SealedError(
        keys.reason,
        `The stored state of this space’s log holds a statement about keys that cannot be read: ${keys.message}`,
      );
    }
    replica.#log = s.log;
    replica.#chains = s.chains;
    replica.#membership = Membership.restore(replica.#creator, s.members, keys);
    replica.#setAside.push(...s.setAside);
    replica.#tip = s.tip;
    replica.#snapshotCovered = s.snapshotCovered;
    return replica;
  }

  /** Everything `restore` needs to carry on exactly here (not the working document). */
  exportState(): Uint8Array {
    return encodeReplicaState({
      spaceId: this.spaceId,
      creator: fromBase64Url(this.#creator, 32),
      log: Y.encodeStateAsUpdate(this.#log),
      chains: this.#chains.toStored(),
      members: this.#membership.listed(),
      links: this.#membership.keysEnvelopes(),
      setAside: this.#setAside,
      tip: this.#tip,
      snapshotCovered: this.#snapshotCovered,
    });
  }

  /**
   * The seq the last snapshot this device knows of covers: taken in from the log, or written
   * here and answered. Kept with the state so a reload does not write a snapshot at once.
   */
  get snapshotCovered(): number {
    return this.#snapshotCovered;
  }

  noteSnapshot(coversSeq: number): void {
    this.#snapshotCovered = Math.max(this.#snapshotCovered, coversSeq);
  }

  /**
   * The version of the model's rules the log stands at: 1 until a rules statement moved it on
   * (docs/protocol.md, "Rules versions").
   */
  get rulesVersion(): number {
    return this.#membership.rules;
  }

  /** The newest version that refuses more than the ones before: what it states once caught up. */
  get rulesTightened(): number {
    return this.#rules.tightened;
  }

  /**
   * The version the log moved on to when this device does not know it, or null. Then nothing
   * more is taken in (`receive` and `receiveOwn` answer `paused`) until a newer Mend restores
   * this state: the statement itself was taken in, so it knows where to go on.
   */
  get paused(): number | null {
    const version = this.#membership.rules;
    return version > this.#rules.latest ? version : null;
  }

  /** The highest seq this replica has taken in, applied or set aside: what `hello` says. */
  get since(): number {
    return this.#chains.seq;
  }

  get setAside(): readonly SetAside[] {
    return this.#setAside;
  }

  /** Each member device (base64url of its signing key) and its statement, creator first. */
  get members(): ReadonlyMap<string, MemberPayload> {
    return this.#membership.members;
  }

  /**
   * The space's devices as the log lists them, in the order they came in: each with its seat,
   * the device of that seat that linked it (null for a seat's first device) and the seq of its
   * member statement (docs/protocol.md, "Linking a device").
   */
  devices(): SpaceDevice[] {
    return this.#membership.devices();
  }

  /** The link statement taken in for the device with this signing key, if any. */
  linkFor(device: Uint8Array): LinkRecord | null {
    return this.#membership.links.get(toBase64Url(device)) ?? null;
  }

  /** The partner a device belongs to, once its member statement was accepted; null once removed. */
  partnerOf(device: Uint8Array): PartnerId | null {
    const key = toBase64Url(device);
    if (!this.#membership.isCurrent(key)) return null;
    return this.#membership.members.get(key)?.partnerId ?? null;
  }

  /**
   * The log's epochs and who is in the space, by base64url signing key (docs/protocol.md,
   * "Removing a device and new epochs"): what a device that changes the keys builds on.
   */
  get standing(): Standing {
    return this.#membership;
  }

  /**
   * Whether a member statement by `device` would be admitted now (or is already): a device
   * announces itself only then, since a statement set aside is not taken back. A device linked
   * to a seat waits for the link in its log; a removed device never again.
   */
  wouldAdmit(device: Uint8Array, statement: MemberPayload): boolean {
    const key = toBase64Url(device);
    if (this.#membership.removedAt(key) !== null) return false;
    return typeof this.#membership.judgeMember(key, statement) === 'string';
  }

  /**
   * Whether a return statement by `device` would be admitted now (docs/protocol.md, "Returning to
   * a seat"): a device confirms a return only then, since one set aside brings nobody back.
   */
  wouldAdmitReturn(device: Uint8Array, statement: LinkPayload): boolean {
    return this.#membership.judgeReturn(toBase64Url(device), statement) === 'admit';
  }

  /** Whether any envelope of this log was written with `stream`. */
  knowsStream(stream: number): boolean {
    return this.#chains.head(stream) !== undefined;
  }

  /** The last envelope of `stream` this log holds (its counter and hash), or null for none. */
  chainHead(stream: number): { readonly counter: number; readonly hash: Uint8Array } | null {
    return this.#chains.head(stream) ?? null;
  }

  /** Whether `author` may speak for `stream`: it is its own, or nobody wrote with it yet. */
  streamMayBe(stream: number, author: Uint8Array): boolean {
    const owner = this.#chains.head(stream)?.author;
    return owner === undefined || toBase64Url(owner) === toBase64Url(author);
  }

  /** A backlog's head below what this replica took in means the server went back. */
  checkServerHead(head: number): string | null {
    const verdict = this.#chains.checkServerHead(head);
    return verdict.ok ? null : verdict.message;
  }

  /**
   * The server's complete answer (a backlog up to its head) left out every seq from `since + 1`
   * through `through`. Recorded, so both partners are told, and passed over, so syncing goes
   * on; what was stored there is lost to this device, and the stream it belonged to shows the
   * hole at its next envelope. `receive` still takes only the next seq. Never while `paused`.
   */
  passOver(through: number): SetAside {
    // A paused device took nothing past its pause: what follows is not missing, only not read.
    if (this.paused !== null) throw new RangeError('paused at a rules version it does not know');
    const from = this.since + 1;
    const moved = this.#chains.passOver(through);
    if (!moved.ok) throw new RangeError(moved.message);
    const positions = from === through ? `position ${from}` : `positions ${from} to ${through}`;
    const entry: SetAside = {
      seq: from,
      reason: SetAsideReason.missing,
      detail: `The server skipped ${positions} of this space’s history: something stored there was removed or withheld.`,
      author: null,
    };
    this.#setAside.push(entry);
    return entry;
  }

  /** The chain heads, members and links a snapshot written now would carry. */
  coverage(): {
    heads: ReturnType<StreamChains['heads']>;
    members: SnapshotMember[];
    links: SnapshotLink[];
  } {
    return {
      heads: this.#chains.heads(),
      members: this.#membership.listed(),
      links: this.#membership.keysEnvelopes(),
    };
  }

  /**
   * A snapshot of the sequenced log up to `since` (never the working document, which holds
   * edits the server has not stored), or null when the hash of the envelope at `since` is not
   * known here (nothing taken in yet, or positions passed over since the last one).
   */
  snapshot(): { covers: { seq: number; hash: Uint8Array }; payload: Uint8Array } | null {
    const tip = this.#tip;
    if (!tip || tip.seq !== this.since) return null;
    const payload = encodeSnapshotPayload({
      yjsState: Y.encodeStateAsUpdate(this.#log),
      ...this.coverage(),
    });
    return { covers: { seq: tip.seq, hash: tip.hash }, payload };
  }

  /** The epoch of a snapshot it would take but holds no key for (candidates to offer), or null. */
  keyWanted(bytes: Uint8Array): number | null {
    return snapshotKeyWanted(bytes, this.since, this.#keyring);
  }

  /**
   * An envelope the server served at `seq`. A snapshot under an epoch it lacks may open with one
   * of `candidates`, taken only if the statement it carries gives this device that key; one no
   * key opens is set aside as an unopened key while `since` stays before it (served again).
   */
  receive(seq: number, bytes: Uint8Array, candidates: readonly CandidateKey[] = []): Receipt {
    const paused = this.paused;
    if (paused !== null) return { kind: 'paused', rules: paused };
    let verified: VerifiedEnvelope;
    try {
      verified = verifyEnvelope(bytes, this.spaceId);
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      return this.#putAside(seq, SetAsideReason.forged, error.message, null);
    }
    const { envelope } = verified;
    if (envelope.kind === EnvelopeKind.snapshot) {
      return this.#takeSnapshot(seq, verified, candidates);
    }
    const order = this.#chains.acceptSeq(seq);
    if (!order.ok) {
      // A seq out of order is the provider's or the server's fault, not the envelope's: nothing
      // is taken in, and the provider asks again from `since`.
      return this.#refuseOrder(seq, order.message, envelope);
    }
    this.#tip = { seq, hash: verified.hash };
    const author = toBase64Url(envelope.author);
    if (envelope.kind === EnvelopeKind.presence) {
      return this.#putAside(
        seq,
        SetAsideReason.unsupported,
        'A presence envelope in the log.',
        author,
      );
    }
    const chain = this.#chains.accept(envelope, verified.hash);
    if (!chain.ok) return this.#putAside(seq, SetAsideReason.outOfOrder, chain.message, author);
    // From here the envelope is authentic and in order: its stream's later envelopes verify
    // against it even if its content is refused below.
    const removed = this.#removedAuthor(seq, author);
    if (removed) return removed;
    let payload: Uint8Array;
    try {
      payload = decryptEnvelope(verified, this.#keyring);
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      const introduced = envelope.epoch <= this.#membership.epoch;
      const reason = (introduced ? this.#lacksKey(error) : null) ?? SetAsideReason.forged;
      return this.#putAside(seq, reason, error.message, author);
    }
    switch (envelope.kind) {
      case EnvelopeKind.update:
        return this.#applyUpdate(seq, envelope, payload, author);
      case EnvelopeKind.carried:
        return this.#applyCarried(seq, envelope, payload, author);
      case EnvelopeKind.keys:
        return this.#takeKeys(seq, bytes, payload, author);
      default:
        return this.#admitMember(seq, payload, author);
    }
  }

  /**
   * What of `state` (a Yjs state or update) the sequenced log does not hold, as one update, or
   * null when it holds all of it (`carryOver`): a plaintext copy's changes still to be carried.
   */
  notInLog(state: Uint8Array): Uint8Array | null {
    return carryOver(state, this.#log);
  }

  /**
   * This device's own envelope, stored by the server at `seq` (its `ack`). It came from this
   * device's outbox, so it is not verified, and the working document already has it; the chain
   * and the order move on, the sequenced log takes it in (an update or a carried envelope, the
   * genesis included), and so does the membership.
   */
  receiveOwn(seq: number, bytes: Uint8Array): Receipt {
    const paused = this.paused;
    if (paused !== null) return { kind: 'paused', rules: paused };
    const envelope = decodeEnvelope(bytes);
    const order = this.#chains.acceptSeq(seq);
    if (!order.ok) return this.#refuseOrder(seq, order.message, envelope);
    const hash = sha256(bytes);
    this.#tip = { seq, hash };
    const author = toBase64Url(envelope.author);
    const chain = this.#chains.accept(envelope, hash);
    if (!chain.ok) return this.#putAside(seq, SetAsideReason.outOfOrder, chain.message, author);
    const removed = this.#removedAuthor(seq, author);
    if (removed) return removed;
    const payload = decryptEnvelope({ envelope, hash }, this.#keyring);
    if (envelope.kind === EnvelopeKind.member) return this.#admitMember(seq, payload, author);
    if (envelope.kind === EnvelopeKind.keys) return this.#takeKeys(seq, bytes, payload, author);
    Y.applyUpdate(this.#log, payload, REMOTE);
    return { kind: 'applied' };
  }

  #applyUpdate(seq: number, envelope: Envelope, update: Uint8Array, author: string): Receipt {
    const member = this.members.get(author);
    if (!member) {
      return this.#putAside(
        seq,
        SetAsideReason.stranger,
        'An update from a device that is not a member.',
        author,
      );
    }
    // By the rules the log stands at here: every device, whatever its version, judges the same.
    const verdict = this.#rules.judge(this.#membership.rules, this.#log, update, {
      partnerId: member.partnerId,
      clientIds: new Set([envelope.stream]),
    });
    if (!verdict.ok) return this.#putAside(seq, SetAsideReason.refused, verdict.detail, author);
    Y.applyUpdate(this.#log, update, REMOTE);
    Y.applyUpdate(this.doc, update, REMOTE);
    return { kind: 'applied' };
  }

  /** A carried envelope (docs/protocol.md, "Converting a plaintext space"; carriedRules.ts). */
  #applyCarried(seq: number, envelope: Envelope, update: Uint8Array, author: string): Receipt {
    const refusal = judgeCarried(this.#log, envelope, update, {
      author,
      creator: this.#creator,
      members: this.members,
      knowsStream: (stream) => this.knowsStream(stream),
    });
    if (refusal) return this.#putAside(seq, refusal.reason, refusal.detail, author);
    Y.applyUpdate(this.#log, update, REMOTE);
    Y.applyUpdate(this.doc, update, REMOTE);
    return { kind: 'applied' };
  }

  #admitMember(seq: number, payload: Uint8Array, author: string): Receipt {
    let statement: MemberPayload;
    try {
      statement = decodeMemberPayload(payload);
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      return this.#putAside(seq, SetAsideReason.forged, error.message, author);
    }
    const verdict = this.#membership.judgeMember(author, statement);
    if (typeof verdict === 'object') {
      return this.#putAside(seq, verdict.reason, verdict.detail, author);
    }
    if (verdict === 'admit') this.#membership.admitMember(author, statement, seq);
    return { kind: 'member', partnerId: statement.partnerId, device: author };
  }

  /** A keys envelope: a link, a recovery link or an epoch statement (replicaKeys.ts). */
  #takeKeys(seq: number, bytes: Uint8Array, payload: Uint8Array, author: string): Receipt {
    const taken = takeKeysStatement(this.#keys(), { seq, bytes, payload, author });
    if ('reason' in taken) return this.#putAside(seq, taken.reason, taken.detail, author);
    if (taken.kind === 'epoch' && taken.unopened) this.#setAside.push(taken.unopened);
    return taken;
  }

  #keys(keyring = this.#keyring): ReplicaKeys {
    return { membership: this.#membership, keyring, identity: this.#identity };
  }

  /** A key the log introduced that this device does not hold: not a forgery, a key it lacks. */
  #lacksKey(error: SealedError): SetAsideReason | null {
    return error.reason === SealedErrorReason.unknownEpoch ? SetAsideReason.unopenedKey : null;
  }

  /** An envelope by a device the log removed before it: set aside, whatever it holds. */
  #removedAuthor(seq: number, author: string): Receipt | null {
    const at = this.#membership.removedAt(author);
    if (at === null) return null;
    return this.#putAside(
      seq,
      SetAsideReason.removed,
      `From a device that was removed from the space (at position ${at}).`,
      author,
    );
  }

  #takeSnapshot(
    seq: number,
    verified: VerifiedEnvelope,
    candidates: readonly CandidateKey[],
  ): Receipt {
    const { envelope } = verified;
    const author = toBase64Url(envelope.author);
    const coversSeq = envelope.covers?.seq ?? seq;
    if (coversSeq <= this.since) return { kind: 'snapshot' }; // already holds all it covers
    // Whether its author is a member is judged with what the snapshot lists (`takeListed`):
    // a partner who joined after this device last synced wrote its member statement into the
    // part of the log the snapshot covers, where this device has not read it yet.
    const removed = this.#removedAuthor(seq, author);
    if (removed) return removed;
    const opened = openSnapshotKeys(this.#keys(), verified, candidates);
    if ('reason' in opened) {
      // A key it lacks: this device was away across a key change, and waits before the
      // snapshot for it (docs/protocol.md, "Catching up across a key change").
      const { reason, detail } = opened;
      if (reason === SetAsideReason.unopenedKey) return this.#holdBack(seq, detail, author);
      return this.#putAside(seq, reason, detail, author);
    }
    const { snapshot, keys } = opened;
    // Judged on a copy: the membership changes only if everything else holds too.
    const membership = this.#membership.copy();
    const refusal = membership.takeListed(author, snapshot.members, keys);
    if (refusal) return this.#putAside(seq, refusal.reason, refusal.detail, author);
    // A log that holds nothing (a fresh device) can have nothing hidden from it: the state is
    // read once, into the document that becomes the log, rather than read whole for the check
    // and then applied (docs/benchmarks.md, "Cold load"). A log that holds a prefix is checked.
    let log: Y.Doc | null = null;
    if (holdsNothing(this.#log)) {
      log = documentOf(snapshot.yjsState, REMOTE);
      if (!log) return this.#putAside(seq, SetAsideReason.badSnapshot, UNREADABLE_SNAPSHOT, author);
    } else {
      const hidden = snapshotHides(this.#log, snapshot.yjsState);
      if (hidden) return this.#putAside(seq, SetAsideReason.badSnapshot, hidden, author);
    }
    const heads = this.#chains.acceptSnapshot(coversSeq, snapshot.heads);
    if (!heads.ok) return this.#putAside(seq, SetAsideReason.badSnapshot, heads.message, author);
    if (envelope.covers) this.#tip = { seq: coversSeq, hash: envelope.covers.hash };
    forgetUnopened(this.#setAside, seq); // held back before, taken now
    const before = this.#membership.epochs.length;
    this.#membership = membership;
    for (const record of membership.epochs.slice(before)) {
      const { unopened } = openOwnKey(this.#keys(), record);
      if (unopened) this.#setAside.push(unopened);
    }
    if (log) this.#log = log;
    else Y.applyUpdate(this.#log, snapshot.yjsState, REMOTE);
    Y.applyUpdate(this.doc, snapshot.yjsState, REMOTE);
    return { kind: 'snapshot' };
  }

  #refuseOrder(seq: number, detail: string, envelope: Envelope): Receipt {
    const entry: SetAside = {
      seq,
      reason: SetAsideReason.outOfOrder,
      detail,
      author: toBase64Url(envelope.author),
    };
    return { kind: 'set-aside', entry };
  }

  /** A snapshot it lacks the key for: recorded once, not taken in (`since` stays before it). */
  #holdBack(seq: number, detail: string, author: string): Receipt {
    const entry = { seq, reason: SetAsideReason.unopenedKey, detail, author };
    return { kind: 'set-aside', entry: recordOnce(this.#setAside, entry) };
  }

  #putAside(seq: number, reason: SetAsideReason, detail: string, author: string | null): Receipt {
    const entry: SetAside = { seq, reason, detail, author };
    this.#setAside.push(entry);
    // Kept aside, but taken in: syncing goes on past it.
    if (this.#chains.seq < seq) this.#chains.acceptSeq(seq);
    return { kind: 'set-aside', entry };
  }
}
