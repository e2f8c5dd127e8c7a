import type { PartnerId } from '@mend/protocol';
import { fromBase64Url, toBase64Url } from '../bytes.js';
import type { MemberPayload, SnapshotLink, SnapshotMember } from '../payloads.js';
import { judgeLink, judgeStatement, type LinkRecord, type Refusal } from './memberRules.js';
import { SetAsideReason } from './setAside.js';

export type { LinkRecord };

/** One device of the space, as every device lists it from the log (`SealedReplica.devices()`). */
export interface SpaceDevice {
  /** Its signing key, base64url: the device's name on the wire. */
  readonly signingKey: string;
  readonly partnerId: PartnerId;
  readonly agreementKey: Uint8Array;
  /** The device of the same seat that linked it (base64url), or null for a seat's first device. */
  readonly linkedBy: string | null;
  /** The seq of its member statement; null when a snapshot that did not say brought it. */
  readonly seq: number | null;
}

/**
 * The space's membership as the log built it: member statements in the order they were
 * admitted, with their seq, and the link statements that let a second device into a seat.
 * Every change goes through memberRules, here and when a snapshot brings a list.
 */
export class Membership {
  readonly #creator: string;
  readonly #members = new Map<string, MemberPayload>();
  readonly #seqs = new Map<string, number | null>();
  readonly #links = new Map<string, LinkRecord>();

  constructor(creator: string) {
    this.#creator = creator;
  }

  /** Each member device (base64url of its signing key) and its statement, creator first. */
  get members(): ReadonlyMap<string, MemberPayload> {
    return this.#members;
  }

  /** Link statements taken in, by the device each names. */
  get links(): ReadonlyMap<string, LinkRecord> {
    return this.#links;
  }

  judgeMember(device: string, statement: MemberPayload): 'known' | 'admit' | Refusal {
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

  judgeLink(author: string, link: LinkRecord['link']): 'known' | 'admit' | Refusal {
    return judgeLink(this.#members, this.#links, author, link);
  }

  /** Records a link `judgeLink` admitted. */
  admitLink(record: LinkRecord): void {
    this.#links.set(toBase64Url(record.link.signingKey), record);
  }

  devices(): SpaceDevice[] {
    return [...this.#members].map(([device, m]) => ({
      signingKey: device,
      partnerId: m.partnerId,
      agreementKey: m.agreementKey,
      linkedBy: this.#links.get(device)?.by ?? null,
      seq: this.#seqs.get(device) ?? null,
    }));
  }

  /** The member statements as a snapshot or a stored state carries them, in admission order. */
  listed(): SnapshotMember[] {
    return [...this.#members].map(([device, m]) => ({
      ...m,
      device: fromBase64Url(device, 32),
      seq: this.#seqs.get(device) ?? null,
    }));
  }

  /** The link statements as a snapshot or a stored state carries them, by seq. */
  linkEnvelopes(): SnapshotLink[] {
    return [...this.#links.values()]
      .map((r) => ({ seq: r.seq, envelope: r.envelope }))
      .sort((a, b) => a.seq - b.seq);
  }

  /**
   * Takes in what a snapshot lists (members, and links already opened and checked to be link
   * statements by their signer), judged by the same rules as the statements themselves, in the
   * order they were stored: members a snapshot before links brought (no seq) first, then by seq.
   * The snapshot's author must be a member afterwards. Stops at the first refusal and returns
   * it, with part taken in: call it on a `copy()`.
   */
  takeListed(
    author: string,
    members: readonly SnapshotMember[],
    links: readonly LinkRecord[],
  ): Refusal | null {
    type Step =
      | { kind: 'member'; seq: number | null; member: SnapshotMember }
      | { kind: 'link'; seq: number; record: LinkRecord };
    const steps: Step[] = [
      ...members.map((member): Step => ({ kind: 'member', seq: member.seq, member })),
      ...links.map((record): Step => ({ kind: 'link', seq: record.seq, record })),
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
      } else {
        const verdict = this.judgeLink(step.record.by, step.record.link);
        if (typeof verdict === 'object') {
          return badSnapshot(`A snapshot that lists a link wrongly: ${verdict.detail}`);
        }
        if (verdict === 'admit') this.admitLink(step.record);
      }
    }
    if (!this.#members.has(author)) {
      return {
        reason: SetAsideReason.stranger,
        detail: 'A snapshot by a device it does not list.',
      };
    }
    return null;
  }

  /** A membership as stored (`exportState`), taken back without judging it again. */
  static restore(
    creator: string,
    members: readonly SnapshotMember[],
    links: readonly LinkRecord[],
  ): Membership {
    const m = new Membership(creator);
    for (const member of members) m.admitMember(toBase64Url(member.device), member, member.seq);
    for (const link of links) m.admitLink(link);
    return m;
  }

  copy(): Membership {
    const copy = new Membership(this.#creator);
    for (const [device, member] of this.#members) copy.#members.set(device, member);
    for (const [device, seq] of this.#seqs) copy.#seqs.set(device, seq);
    for (const [device, link] of this.#links) copy.#links.set(device, link);
    return copy;
  }
}

function badSnapshot(detail: string): Refusal {
  return { reason: SetAsideReason.badSnapshot, detail };
}
