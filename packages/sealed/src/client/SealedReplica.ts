import { checkRemoteUpdate, checkUpdateShape, type PartnerId } from '@mend/model';
import { decodeEnvelope, EnvelopeKind, type Envelope, type SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import { fromBase64Url, toBase64Url } from '../bytes.js';
import { sha256 } from '../crypto.js';
import { decryptEnvelope, verifyEnvelope, type VerifiedEnvelope } from '../envelopes.js';
import { SealedError } from '../errors.js';
import {
  decodeLinkPayload,
  decodeMemberPayload,
  decodeSnapshotPayload,
  encodeSnapshotPayload,
  keysStatementOf,
  type MemberPayload,
  type SnapshotLink,
  type SnapshotMember,
} from '../payloads.js';
import type { SpaceKeyring } from '../SpaceKeyring.js';
import { StreamChains } from '../StreamChains.js';
import { carryOver } from './carryOver.js';
import { openLinkEnvelope } from './linkEnvelope.js';
import { Membership, type LinkRecord, type SpaceDevice } from './Membership.js';
import { encodeReplicaState, readReplicaState } from './replicaState.js';
import { SetAsideReason, type Receipt, type SetAside } from './setAside.js';
import { documentOf, holdsNothing, snapshotHides, UNREADABLE_SNAPSHOT } from './snapshotCheck.js';

import { REMOTE, STORED } from './origins.js';

export { REMOTE, STORED };

export { SetAsideReason, type Receipt, type SetAside, type SpaceDevice };

export interface ReplicaOptions {
  readonly doc: Y.Doc;
  readonly keyring: SpaceKeyring;
  /** The signing key of the device that created the space: its member statement comes first. */
  readonly creator: Uint8Array;
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
    const links = s.links.map((link) => {
      const opened = openLinkEnvelope(link.envelope, replica.#keyring);
      if (opened instanceof SealedError) {
        throw new SealedError(
          opened.reason,
          `The stored state of this space’s log holds a link that cannot be read: ${opened.message}`,
        );
      }
      return { ...opened, seq: link.seq };
    });
    replica.#log = s.log;
    replica.#chains = s.chains;
    replica.#membership = Membership.restore(replica.#creator, s.members, links);
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
      links: this.#membership.linkEnvelopes(),
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

  /** The partner a device belongs to, once its member statement was accepted. */
  partnerOf(device: Uint8Array): PartnerId | null {
    return this.#membership.members.get(toBase64Url(device))?.partnerId ?? null;
  }

  /**
   * Whether a member statement by `device` would be admitted now (or is already): a device
   * announces itself only then, since a statement set aside is not taken back. A device linked
   * to a seat waits for the link in its log.
   */
  wouldAdmit(device: Uint8Array, statement: MemberPayload): boolean {
    return typeof this.#membership.judgeMember(toBase64Url(device), statement) === 'string';
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
   * hole at its next envelope. `receive` still takes only the next seq.
   */
  passOver(through: number): SetAside {
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
      links: this.#membership.linkEnvelopes(),
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

  /** An envelope the server served at `seq`. */
  receive(seq: number, bytes: Uint8Array): Receipt {
    let verified: VerifiedEnvelope;
    try {
      verified = verifyEnvelope(bytes, this.spaceId);
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      return this.#putAside(seq, SetAsideReason.forged, error.message, null);
    }
    const { envelope } = verified;
    if (envelope.kind === EnvelopeKind.snapshot) return this.#takeSnapshot(seq, verified);
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
    let payload: Uint8Array;
    try {
      payload = decryptEnvelope(verified, this.#keyring);
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      return this.#putAside(seq, SetAsideReason.forged, error.message, author);
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
    const envelope = decodeEnvelope(bytes);
    const order = this.#chains.acceptSeq(seq);
    if (!order.ok) return this.#refuseOrder(seq, order.message, envelope);
    const hash = sha256(bytes);
    this.#tip = { seq, hash };
    const author = toBase64Url(envelope.author);
    const chain = this.#chains.accept(envelope, hash);
    if (!chain.ok) return this.#putAside(seq, SetAsideReason.outOfOrder, chain.message, author);
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
    const verdict = checkRemoteUpdate(this.#log, update, {
      partnerId: member.partnerId,
      clientIds: new Set([envelope.stream]),
    });
    if (!verdict.ok) return this.#putAside(seq, SetAsideReason.refused, verdict.detail, author);
    Y.applyUpdate(this.#log, update, REMOTE);
    Y.applyUpdate(this.doc, update, REMOTE);
    return { kind: 'applied' };
  }

  /**
   * A carried envelope: what was written before the space was sealed (docs/protocol.md,
   * "Converting a plaintext space"). The genesis is the space's starting state, judged only for
   * being readable; any other must come from a member, use only client ids no stream of the log
   * claimed (its own stream aside), and pass the authorship rules for its author's partner with
   * every client id it uses.
   */
  #applyCarried(seq: number, envelope: Envelope, update: Uint8Array, author: string): Receipt {
    const known = (client: number) => Y.getState(this.#log.store, client);
    if (this.#isGenesis(envelope, author)) {
      const shape = checkUpdateShape(update, known);
      if (!shape.ok) {
        return this.#putAside(
          seq,
          SetAsideReason.refused,
          `The space’s starting state cannot be read: ${shape.detail}.`,
          author,
        );
      }
      Y.applyUpdate(this.#log, update, REMOTE);
      Y.applyUpdate(this.doc, update, REMOTE);
      return { kind: 'applied' };
    }
    const member = this.members.get(author);
    if (!member) {
      return this.#putAside(
        seq,
        SetAsideReason.stranger,
        'Changes carried over from before the space was sealed, from a device that is not a member.',
        author,
      );
    }
    const shape = checkUpdateShape(update, known);
    if (!shape.ok) return this.#putAside(seq, SetAsideReason.refused, shape.detail, author);
    const clientIds = new Set(shape.update.runs.keys());
    for (const client of clientIds) {
      if (client !== envelope.stream && this.knowsStream(client)) {
        return this.#putAside(
          seq,
          SetAsideReason.refused,
          `Changes carried over under client id ${client}, which a stream of the sealed space claimed.`,
          author,
        );
      }
    }
    const verdict = checkRemoteUpdate(this.#log, update, {
      partnerId: member.partnerId,
      clientIds,
    });
    if (!verdict.ok) return this.#putAside(seq, SetAsideReason.refused, verdict.detail, author);
    Y.applyUpdate(this.#log, update, REMOTE);
    Y.applyUpdate(this.doc, update, REMOTE);
    return { kind: 'applied' };
  }

  /**
   * The genesis: the creator's carried envelope at counter 2 of its stream (its counter 1, the
   * creator's too, is its member statement when it converted honestly), taken in while the
   * sequenced log holds nothing yet. Derived from the log, so a restored replica judges it alike.
   */
  #isGenesis(envelope: Envelope, author: string): boolean {
    return (
      author === this.#creator &&
      this.members.has(author) &&
      envelope.counter === 2 &&
      this.#log.store.clients.size === 0
    );
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

  /**
   * A keys envelope: a link statement from a member, for its own seat (docs/protocol.md,
   * "Linking a device"); a statement of a kind this version does not know is kept aside.
   */
  #takeKeys(seq: number, bytes: Uint8Array, payload: Uint8Array, author: string): Receipt {
    if (keysStatementOf(payload) === null) {
      return this.#putAside(
        seq,
        SetAsideReason.unsupported,
        'A statement about keys that this version of Mend does not know.',
        author,
      );
    }
    let link: LinkRecord['link'];
    try {
      link = decodeLinkPayload(payload);
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      return this.#putAside(seq, SetAsideReason.forged, error.message, author);
    }
    const verdict = this.#membership.judgeLink(author, link);
    if (typeof verdict === 'object') {
      return this.#putAside(seq, verdict.reason, verdict.detail, author);
    }
    if (verdict === 'admit') this.#membership.admitLink({ by: author, seq, link, envelope: bytes });
    return {
      kind: 'link',
      partnerId: link.partnerId,
      device: toBase64Url(link.signingKey),
      by: author,
    };
  }

  #takeSnapshot(seq: number, verified: VerifiedEnvelope): Receipt {
    const { envelope } = verified;
    const author = toBase64Url(envelope.author);
    const coversSeq = envelope.covers?.seq ?? seq;
    if (coversSeq <= this.since) return { kind: 'snapshot' }; // already holds all it covers
    if (this.members.size > 0 && !this.members.has(author)) {
      return this.#putAside(
        seq,
        SetAsideReason.stranger,
        'A snapshot by a device that is not a member.',
        author,
      );
    }
    let snapshot;
    try {
      snapshot = decodeSnapshotPayload(decryptEnvelope(verified, this.#keyring));
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      return this.#putAside(seq, SetAsideReason.forged, error.message, author);
    }
    const links: LinkRecord[] = [];
    for (const link of snapshot.links) {
      const opened = openLinkEnvelope(link.envelope, this.#keyring);
      if (opened instanceof SealedError || link.seq > coversSeq) {
        const why = opened instanceof SealedError ? opened.message : 'it is past what it covers.';
        return this.#putAside(seq, SetAsideReason.badSnapshot, `A link it lists: ${why}`, author);
      }
      links.push({ ...opened, seq: link.seq });
    }
    // Judged on a copy: the membership changes only if everything else holds too.
    const membership = this.#membership.copy();
    const refusal = membership.takeListed(author, snapshot.members, links);
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
    this.#membership = membership;
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

  #putAside(seq: number, reason: SetAsideReason, detail: string, author: string | null): Receipt {
    const entry: SetAside = { seq, reason, detail, author };
    this.#setAside.push(entry);
    // Kept aside, but taken in: syncing goes on past it.
    if (this.#chains.seq < seq) this.#chains.acceptSeq(seq);
    return { kind: 'set-aside', entry };
  }
}
