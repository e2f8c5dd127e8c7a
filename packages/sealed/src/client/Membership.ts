import type { PartnerId } from '@mend/protocol';
import { equalBytes, fromBase64Url, toBase64Url } from '../bytes.js';
import type {
  EpochPayload,
  LinkPayload,
  MemberPayload,
  SnapshotLink,
  SnapshotMember,
} from '../payloads.js';
import { judgeEpoch } from './epochRules.js';
import { judgeReturn } from './returnRules.js';
import {
  isEpochRecord,
  isRulesRecord,
  judgeLink,
  judgeStatement,
  refused,
  type EpochRecord,
  type KeysRecord,
  type LinkRecord,
  type Refusal,
  type RulesRecord,
} from './memberRules.js';
import { SetAsideReason } from './setAside.js';

export type { EpochRecord, KeysRecord, LinkRecord, RulesRecord };

/** One device of the space, as every device lists it from the log (`SealedReplica.devices()`). */
export interface SpaceDevice {
  /** Its signing key, base64url: the device's name on the wire. */
  readonly signingKey: string;
  readonly partnerId: PartnerId;
  readonly agreementKey: Uint8Array;
  /**
   * The device that linked it (base64url): of the same seat, or of the other seat when it
   * `returned`; null for a seat's first device.
   */
  readonly linkedBy: string | null;
  /** The seq of its member statement; null when a snapshot that did not say brought it, or none yet. */
  readonly seq: number | null;
  /** Whether its member statement is in the log (a recovery kit not used yet has none). */
  readonly announced: boolean;
  /** Brought in by a recovery link: the seat's recovery kit ("Recovery kit"). */
  readonly recovery: boolean;
  /** Brought back by the other partner's device `linkedBy` ("Returning to a seat"). */
  readonly returned: boolean;
  /** The seq of the epoch statement that removed it, or null while it is in the space. */
  readonly removedAt: number | null;
  /** The device that removed it (base64url), or null. */
  readonly removedBy: string | null;
}

/** A device a new epoch's key goes to: its signing key (base64url) and its agreement key. */
export interface StayingDevice {
  readonly signingKey: string;
  readonly agreementKey: Uint8Array;
}

/** What of a membership a device that changes the keys reads (`SealedReplica.standing`). */
export type Standing = Pick<
  Membership,
  'epoch' | 'epochs' | 'removedAt' | 'isCurrent' | 'isLinkedOnly' | 'staying'
>;

/**
 * The space's membership as the log built it: member statements in the order they were
 * admitted, with their seq; the link statements that let a further device into a seat (recovery
 * links among them); and the epoch statements that introduced each new key and removed devices
 * (docs/protocol.md, "Removing a device and new epochs"). Every change goes through memberRules
 * and epochRules, here and when a snapshot brings a list.
 */
export class Membership {
  readonly #creator: string;
  readonly #members = new Map<string, MemberPayload>();
  readonly #seqs = new Map<string, number | null>();
  readonly #links = new Map<string, LinkRecord>();
  readonly #removed = new Map<string, { readonly seq: number; readonly by: string }>();
  readonly #epochs: EpochRecord[] = [];
  /** The rules statements that moved the version on, in seq order. */
  readonly #rules: RulesRecord[] = [];

  constructor(creator: string) {
    this.#creator = creator;
  }

  /** Each member device (base64url of its signing key) and its statement, creator first. Removed ones too. */
  get members(): ReadonlyMap<string, MemberPayload> {
    return this.#members;
  }

  /** Link statements taken in (recovery links too), by the device each names. */
  get links(): ReadonlyMap<string, LinkRecord> {
    return this.#links;
  }

  /** The newest epoch the log introduced: 1 (the welcome box's) before any epoch statement. */
  get epoch(): number {
    return this.#epochs.at(-1)?.epoch.epoch ?? 1;
  }

  /**
   * The version of the model's rules the log is judged by now: 1 until a rules statement moved
   * it on (docs/protocol.md, "Rules versions").
   */
  get rules(): number {
    return this.#rules.at(-1)?.rules ?? 1;
  }

  /**
   * A rules statement by `author`: from a current member (a device linked but not announced yet
   * has written nothing the rules judge, so it states nothing either); `known` when the log is
   * already at that version or past it (two devices updated at once), `admit` when it moves on.
   */
  judgeRules(author: string, version: number): 'known' | 'admit' | Refusal {
    if (this.#removed.has(author)) return removedRefusal('A rules statement');
    if (!this.#members.has(author)) {
      return {
        reason: SetAsideReason.stranger,
        detail: 'A rules statement by a device that is not a member.',
      };
    }
    return version <= this.rules ? 'known' : 'admit';
  }

  /** Records a statement `judgeRules` admitted. */
  admitRules(record: RulesRecord): void {
    this.#rules.push(record);
  }

  /** The seq a device was removed at, or null. */
  removedAt(device: string): number | null {
    return this.#removed.get(device)?.seq ?? null;
  }

  /** A member whose statement was admitted and who was not removed. */
  isCurrent(device: string): boolean {
    return this.#members.has(device) && !this.#removed.has(device);
  }

  /** Linked (its link admitted), not announced yet (no member statement), not removed. */
  isLinkedOnly(device: string): boolean {
    return this.#links.has(device) && !this.#members.has(device) && !this.#removed.has(device);
  }

  /** Every device a new epoch's key goes to: current devices and linked ones, both seats. */
  staying(): StayingDevice[] {
    const staying: StayingDevice[] = [];
    for (const [device, member] of this.#members) {
      if (this.isCurrent(device))
        staying.push({ signingKey: device, agreementKey: member.agreementKey });
    }
    for (const [device, record] of this.#links) {
      if (this.isLinkedOnly(device)) {
        staying.push({ signingKey: device, agreementKey: record.link.agreementKey });
      }
    }
    return staying;
  }

  judgeMember(device: string, statement: MemberPayload): 'known' | 'admit' | Refusal {
    // A removed member's own statement, listed again by a snapshot, is known; a new one is not.
    if (!this.#members.has(device) && this.#removed.has(device)) {
      return removedRefusal('A member statement');
    }
    return judgeStatement(this.#members, this.#links, this.#creator, device, statement);
  }

  /** Records a statement `judgeMember` admitted. */
  admitMember(device: string, statement: MemberPayload, seq: number | null): void {
    this.#members.set(device, {
      partnerId: statement.partnerId,
      agreementKey: statement.agreementKey,
    });
    this.#seqs.set(device, seq);
  }

  /**
   * A link (or, `recovery`, a recovery link) by `author`: as memberRules judges it, from a
   * device not removed, for a device never removed, and a recovery link only for a seat without
   * a recovery device still in the space.
   */
  judgeLink(author: string, link: LinkPayload, recovery = false): 'known' | 'admit' | Refusal {
    if (this.#removed.has(author)) return removedRefusal('A link');
    const linked = toBase64Url(link.signingKey);
    if (this.#removed.has(linked))
      return refused('A link for a device that was removed: it never comes back.');
    const verdict = judgeLink(this.#members, this.#links, author, link, recovery);
    if (verdict !== 'admit' || !recovery) return verdict;
    for (const [device, record] of this.#links) {
      if (
        record.recovery &&
        record.link.partnerId === link.partnerId &&
        !this.#removed.has(device)
      ) {
        return refused(
          'A second recovery kit for a seat that has one: the old one is removed first.',
        );
      }
    }
    return 'admit';
  }

  /** A return by `author` (returnRules.ts), from a device not removed. */
  judgeReturn(author: string, statement: LinkPayload): 'admit' | Refusal {
    if (this.#removed.has(author)) return removedRefusal('A return');
    return judgeReturn(this, author, statement);
  }

  /** A link, recovery link or return read from its envelope, judged by its own rules. */
  judgeLinkRecord(record: Pick<LinkRecord, 'by' | 'link' | 'recovery' | 'returned'>) {
    return record.returned
      ? this.judgeReturn(record.by, record.link)
      : this.judgeLink(record.by, record.link, record.recovery);
  }

  /** Records a link `judgeLink` or `judgeReturn` admitted. */
  admitLink(record: LinkRecord): void {
    this.#links.set(toBase64Url(record.link.signingKey), record);
  }

  judgeEpoch(author: string, statement: EpochPayload): 'admit' | Refusal {
    if (this.#removed.has(author)) return removedRefusal('A new key');
    return judgeEpoch(this, author, statement);
  }

  /** Records an epoch statement `judgeEpoch` admitted: its devices are out from its seq on. */
  admitEpoch(record: EpochRecord): void {
    for (const device of record.epoch.removed) {
      this.#removed.set(toBase64Url(device), { seq: record.seq, by: record.by });
    }
    this.#epochs.push(record);
  }

  /** Epoch statements taken in, in seq order. */
  get epochs(): readonly EpochRecord[] {
    return this.#epochs;
  }

  /**
   * Every member device in admission order, then each linked device that never announced
   * itself but is a recovery kit or was removed (a device linked and waiting to announce
   * itself shows once it has).
   */
  devices(): SpaceDevice[] {
    const device = (
      key: string,
      partnerId: PartnerId,
      agreementKey: Uint8Array,
      announced: boolean,
    ): SpaceDevice => {
      const link = this.#links.get(key);
      const removed = this.#removed.get(key);
      return {
        signingKey: key,
        partnerId,
        agreementKey,
        linkedBy: link?.by ?? null,
        seq: announced ? (this.#seqs.get(key) ?? null) : null,
        announced,
        recovery: link?.recovery ?? false,
        returned: link?.returned ?? false,
        removedAt: removed?.seq ?? null,
        removedBy: removed?.by ?? null,
      };
    };
    const listed = [...this.#members].map(([key, m]) =>
      device(key, m.partnerId, m.agreementKey, true),
    );
    for (const [key, record] of this.#links) {
      if (this.#members.has(key) || (!record.recovery && !this.#removed.has(key))) continue;
      listed.push(device(key, record.link.partnerId, record.link.agreementKey, false));
    }
    return listed;
  }

  /** The member statements as a snapshot or a stored state carries them, in admission order. */
  listed(): SnapshotMember[] {
    return [...this.#members].map(([device, m]) => ({
      ...m,
      device: fromBase64Url(device, 32),
      seq: this.#seqs.get(device) ?? null,
    }));
  }

  /**
   * Every keys statement (links, recovery links, returns, epoch statements, rules statements that
   * moved the version on) as envelopes, by seq.
   */
  keysEnvelopes(): SnapshotLink[] {
    return [...this.#links.values(), ...this.#epochs, ...this.#rules]
      .map((r) => ({ seq: r.seq, envelope: r.envelope }))
      .sort((a, b) => a.seq - b.seq);
  }

  /**
   * Takes in what a snapshot lists (members, and keys statements already opened and read from
   * their signers' envelopes), judged by the same rules as the statements themselves, in the
   * order they were stored: members a snapshot before links brought (no seq) first, then by seq.
   * The snapshot's author must be a current device afterwards. Stops at the first refusal and
   * returns it, with part taken in: call it on a `copy()`.
   */
  takeListed(
    author: string,
    members: readonly SnapshotMember[],
    keys: readonly KeysRecord[],
  ): Refusal | null {
    type Step =
      | { kind: 'member'; seq: number | null; member: SnapshotMember }
      | { kind: 'keys'; seq: number; record: KeysRecord };
    const steps: Step[] = [
      ...members.map((member): Step => ({ kind: 'member', seq: member.seq, member })),
      ...keys.map((record): Step => ({ kind: 'keys', seq: record.seq, record })),
    ];
    // Stable: members without a seq keep their listed order, ahead of everything with one.
    steps.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    const first = members[0];
    if (this.#members.size === 0 && (!first || toBase64Url(first.device) !== this.#creator)) {
      return badSnapshot('A snapshot that does not start with the space’s creator.');
    }
    for (const step of steps) {
      if (step.kind === 'member') {
        const device = toBase64Url(step.member.device);
        const verdict = this.judgeMember(device, step.member);
        if (typeof verdict === 'object') {
          return badSnapshot(`A snapshot that lists a member wrongly: ${verdict.detail}`);
        }
        if (verdict === 'admit') this.admitMember(device, step.member, step.member.seq);
        else if (this.#seqs.get(device) === null) this.#seqs.set(device, step.member.seq);
        continue;
      }
      const record = step.record;
      const held = this.#heldAt(record.seq);
      if (held) {
        // One this device took in already is in its list: it must be the same statement.
        if (equalBytes(held.envelope, record.envelope)) continue;
        return badSnapshot('A snapshot that lists another statement than the log held there.');
      }
      if (isEpochRecord(record)) {
        const verdict = this.judgeEpoch(record.by, record.epoch);
        if (typeof verdict === 'object') {
          return badSnapshot(`A snapshot that lists a new key wrongly: ${verdict.detail}`);
        }
        this.admitEpoch(record);
        continue;
      }
      if (isRulesRecord(record)) {
        // Listed only when it moved the version on, so `known` is as wrong as a refusal.
        const verdict = this.judgeRules(record.by, record.rules);
        if (verdict !== 'admit') {
          const why = verdict === 'known' ? 'it does not move the version on' : verdict.detail;
          return badSnapshot(`A snapshot that lists a rules statement wrongly: ${why}`);
        }
        this.admitRules(record);
        continue;
      }
      const verdict = this.judgeLinkRecord(record);
      if (typeof verdict === 'object') {
        return badSnapshot(`A snapshot that lists a link wrongly: ${verdict.detail}`);
      }
      if (verdict === 'admit') this.admitLink(record);
    }
    if (!this.#members.has(author)) {
      return {
        reason: SetAsideReason.stranger,
        detail: 'A snapshot by a device it does not list.',
      };
    }
    if (this.#removed.has(author)) return removedRefusal('A snapshot');
    return null;
  }

  #heldAt(seq: number): KeysRecord | undefined {
    return (
      this.#epochs.find((e) => e.seq === seq) ??
      this.#rules.find((r) => r.seq === seq) ??
      [...this.#links.values()].find((l) => l.seq === seq)
    );
  }

  /** A membership as stored (`exportState`), taken back without judging it again. */
  static restore(
    creator: string,
    members: readonly SnapshotMember[],
    keys: readonly KeysRecord[],
  ): Membership {
    const m = new Membership(creator);
    for (const member of members) m.admitMember(toBase64Url(member.device), member, member.seq);
    for (const record of keys) {
      if (isEpochRecord(record)) m.admitEpoch(record);
      else if (isRulesRecord(record)) m.admitRules(record);
      else m.admitLink(record);
    }
    return m;
  }

  copy(): Membership {
    const copy = new Membership(this.#creator);
    for (const [device, member] of this.#members) copy.#members.set(device, member);
    for (const [device, seq] of this.#seqs) copy.#seqs.set(device, seq);
    for (const [device, link] of this.#links) copy.#links.set(device, link);
    for (const [device, removed] of this.#removed) copy.#removed.set(device, removed);
    copy.#epochs.push(...this.#epochs);
    copy.#rules.push(...this.#rules);
    return copy;
  }
}

function badSnapshot(detail: string): Refusal {
  return { reason: SetAsideReason.badSnapshot, detail };
}

function removedRefusal(what: string): Refusal {
  return {
    reason: SetAsideReason.removed,
    detail: `${what} from a device that was removed from the space.`,
  };
}
