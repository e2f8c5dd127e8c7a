import type {
  AgreementId,
  AnswerId,
  BoundaryId,
  BreakId,
  CheckinKey,
  KeepEntryId,
  PartnerId,
  QuestionId,
  RepairId,
  RevealId,
  ShareKey,
} from './ids.js';

/**
 * The schema version this code writes. A document with a lower version is brought up to this
 * one by `migrate(doc)`; a higher one is refused (`schema-too-new`).
 *
 * History: 0 = the pre-release layout (see migrate.ts); 1 = the layout in README.md.
 */
export const SCHEMA_VERSION = 1;

/**
 * Top-level names in the space's Y.Doc. `agreements`, `questions`, `checkins` are contract
 * (docs/api.md). `shares`, `breaks`, `reveals`, `repairs`, `meetings`, `sealing` and `devices` came later
 * without a schema bump: a document
 * from before them reads them as empty, and the first write creates them (README.md, Schema).
 */
export const Root = {
  space: 'space',
  partners: 'partners',
  agreements: 'agreements',
  questions: 'questions',
  checkins: 'checkins',
  boundaries: 'boundaries',
  shares: 'shares',
  breaks: 'breaks',
  reveals: 'reveals',
  repairs: 'repairs',
  meetings: 'meetings',
  /**
   * Devices' public keys offered for sealing a plaintext space (sealing.ts); written before the
   * space is sealed, never after.
   */
  sealing: 'sealing',
  /** Each device's name, keyed by its signing key (devices.ts; sealed spaces). */
  devices: 'devices',
} as const;
export type Root = (typeof Root)[keyof typeof Root];

export const Role = {
  /** The partner who was hurt. */
  hurt: 'hurt',
  /** The partner who is repairing. */
  repairing: 'repairing',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** What a partner set explicitly; `proposed`/`active`/`changed` are derived, never stored. */
export const AgreementLifecycle = {
  open: 'open',
  paused: 'paused',
  retired: 'retired',
} as const;
export type AgreementLifecycle = (typeof AgreementLifecycle)[keyof typeof AgreementLifecycle];

export const AgreementStatus = {
  /** Not both partners have accepted the current wording, and no wording was ever accepted by both. */
  proposed: 'proposed',
  /** Both partners accepted exactly the current wording. */
  active: 'active',
  /** Both once accepted a wording, but the current wording is not accepted by both. */
  changed: 'changed',
  paused: 'paused',
  retired: 'retired',
} as const;
export type AgreementStatus = (typeof AgreementStatus)[keyof typeof AgreementStatus];

export const KeepValue = {
  kept: 'kept',
  missed: 'missed',
  notApplicable: 'not-applicable',
} as const;
export type KeepValue = (typeof KeepValue)[keyof typeof KeepValue];

export const QuestionStatus = {
  open: 'open',
  answered: 'answered',
  needsFollowUp: 'needs-follow-up',
  closed: 'closed',
} as const;
export type QuestionStatus = (typeof QuestionStatus)[keyof typeof QuestionStatus];

export const ThreadItemKind = {
  answer: 'answer',
  followUp: 'follow-up',
} as const;
export type ThreadItemKind = (typeof ThreadItemKind)[keyof typeof ThreadItemKind];

/** How the body felt at check-in. */
export const CheckinState = {
  calm: 'calm',
  alert: 'alert',
  fight: 'fight',
  flight: 'flight',
  freeze: 'freeze',
} as const;
export type CheckinState = (typeof CheckinState)[keyof typeof CheckinState];

/**
 * What of a day's check-in its author keeps to themselves (SPEC.md, "Private check-ins"): the
 * note, or the whole check-in. Sealed by @mend/sealed so that only the author's devices read it.
 */
export const PrivateScope = {
  note: 'note',
  checkin: 'checkin',
} as const;
export type PrivateScope = (typeof PrivateScope)[keyof typeof PrivateScope];

/**
 * The most characters the sealed part of a private check-in may have: unpadded base64url of the
 * nonce, the padded ciphertext and the tag, as @mend/sealed lays it out (room for a note of
 * `Limits.note` code points of four UTF-8 bytes each, with the safety and state).
 */
export const SEALED_CHECKIN_MAX_CHARS = 12 * 1024;

/**
 * The feelings a daily share offers to choose from: short, plain, and few, so choosing is quick
 * on a hard evening. Words beside them say the rest.
 */
export const Feeling = {
  sad: 'sad',
  hurt: 'hurt',
  afraid: 'afraid',
  anxious: 'anxious',
  angry: 'angry',
  lonely: 'lonely',
  ashamed: 'ashamed',
  overwhelmed: 'overwhelmed',
  numb: 'numb',
  tired: 'tired',
  hopeful: 'hopeful',
  grateful: 'grateful',
  calm: 'calm',
} as const;
export type Feeling = (typeof Feeling)[keyof typeof Feeling];

/** The lengths, in minutes, a break can be called for. */
export const BreakLength = {
  ten: 10,
  twenty: 20,
  thirty: 30,
  hour: 60,
} as const;
export type BreakLength = (typeof BreakLength)[keyof typeof BreakLength];

/** Where a break stands; derived, never stored (SPEC.md, Breaks). */
export const BreakStatus = {
  /** Called, and its caller has not said they are back. */
  open: 'open',
  /** The caller came back at or after the time they named. */
  returned: 'returned',
  /** The caller came back before the time they named. */
  endedEarly: 'ended-early',
  /**
   * Never ended, and its caller called a later break: only two devices of one partner calling a
   * break while neither knew of the other's can leave this.
   */
  replaced: 'replaced',
} as const;
export type BreakStatus = (typeof BreakStatus)[keyof typeof BreakStatus];

/** Two people, and only two, share a space. The server's storage enforces it on join, too. */
export const MAX_PARTNERS = 2;

/**
 * Text bounds, in Unicode code points: the one definition, read by the HTTP API's validation
 * (@mend/protocol), the app's `maxlength` attributes and the tests.
 */
export const Limits = {
  spaceName: 80,
  displayName: 60,
  agreementTitle: 200,
  agreementBody: 20_000,
  questionText: 4_000,
  answerText: 20_000,
  note: 2_000,
  boundaryText: 4_000,
  /** Each part of a daily share (feeling words, affirmation, needs, ownership, struggles). */
  shareText: 2_000,
  /** The prompt both partners answer in a reveal. */
  revealPrompt: 4_000,
  /** An answer to a reveal before it is sealed, and a follow-up after the reveal. */
  revealAnswer: 20_000,
  /** What an after-a-fight repair is about: a short name for the incident. */
  repairTitle: 200,
  /**
   * One thing a partner would do differently next time (a repair's step five). It can become a
   * draft agreement's title, so it has the title's bound.
   */
  repairNextTime: 200,
  /** One appreciation, and what went well, in a weekly meeting. */
  meetingText: 2_000,
  /** What a device is called ("Alex's phone"), trimmed. */
  deviceName: 40,
  safetyMin: 0,
  safetyMax: 10,
} as const;

/**
 * The most bytes a sealed answer to a reveal may have (nonce, padded ciphertext and tag, as
 * @mend/sealed lays it out): room for `Limits.revealAnswer` code points of four UTF-8 bytes each.
 */
export const SEALED_ANSWER_MAX_BYTES = 96 * 1024;

/**
 * What a reveal's `kind` may be: a short tag the practice that opened it chooses
 * ('after-a-fight', 'state-of-the-union'); a reveal without one is a plain prompt.
 */
export const REVEAL_KIND_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** Where one partner's answer to a reveal stands; derived, never stored (SPEC.md, Reveals). */
export const RevealAnswerStatus = {
  /** No answer from this partner yet. */
  notAnswered: 'not-answered',
  /** Answered, and sealed: only its author's devices can read it. */
  answered: 'answered',
  /** Its key is published: every device of both partners can read it. */
  revealed: 'revealed',
} as const;
export type RevealAnswerStatus = (typeof RevealAnswerStatus)[keyof typeof RevealAnswerStatus];

/** A timestamp in milliseconds since the Unix epoch, passed in by the caller. */
export type EpochMs = number;
/** A calendar day, `YYYY-MM-DD`, in the partner's own time zone (the app decides which day it is). */
export type IsoDate = string;

// ---- Plain snapshots returned by the read helpers. They are copies: mutating them changes nothing.

export interface SpaceSnapshot {
  readonly name: string;
  readonly createdAt: EpochMs;
  readonly schemaVersion: number;
}

export interface PartnerSnapshot {
  readonly id: PartnerId;
  readonly displayName: string;
  readonly role: Role | null;
  readonly joinedAt: EpochMs;
  /** `#rrggbb` */
  readonly color: string;
  /** `null` when never recorded, or when this partner chose not to show it. */
  readonly lastSeenAt: EpochMs | null;
  /** This partner's choice (`setPresenceSharing`): may the other see when they are here? */
  readonly showsHere: boolean;
  /** This partner's choice: is "last seen" recorded and shown? */
  readonly showsLastSeen: boolean;
}

export interface Wording {
  readonly title: string;
  readonly body: string;
}

export interface Acceptance {
  readonly partnerId: PartnerId;
  /** `wordingFingerprint(title, body)` of the wording this partner accepted. */
  readonly fingerprint: string;
  readonly at: EpochMs;
}

/** One entry in an agreement's append-only history: who accepted which exact wording, when. */
export interface AcceptedWording extends Wording {
  readonly fingerprint: string;
  readonly acceptedBy: PartnerId;
  readonly at: EpochMs;
}

export interface AgreementSnapshot extends Wording {
  readonly id: AgreementId;
  readonly createdBy: PartnerId;
  readonly proposedBy: PartnerId;
  readonly createdAt: EpochMs;
  readonly lifecycle: AgreementLifecycle;
  readonly lifecycleChangedBy: PartnerId | null;
  readonly lifecycleChangedAt: EpochMs | null;
  /** The reason given with the last lifecycle change, if any. */
  readonly lifecycleReason: string | null;
  readonly lastEditedBy: PartnerId | null;
  readonly lastEditedAt: EpochMs | null;
  /** Fingerprint of the current title + body. */
  readonly fingerprint: string;
  readonly status: AgreementStatus;
  /** Each partner's latest acceptance (of whatever wording it was). */
  readonly acceptances: readonly Acceptance[];
  /** Partners whose latest acceptance is of the current wording. */
  readonly acceptedCurrentBy: readonly PartnerId[];
  /** Every acceptance ever made, oldest first. */
  readonly history: readonly AcceptedWording[];
  /**
   * The latest wording both partners accepted, or `null` if none: what the two of them agreed to.
   * When `status` is `changed`, `title` and `body` are a proposed change and this stays in force
   * until both accept the change.
   */
  readonly inForce: AgreedWording | null;
}

export interface AgreedWording extends Wording {
  readonly fingerprint: string;
}

export interface KeepEntry {
  readonly id: KeepEntryId;
  readonly agreementId: AgreementId;
  readonly date: IsoDate;
  /** Whose keeping this is about (and who wrote it). */
  readonly partnerId: PartnerId;
  readonly value: KeepValue;
  readonly note: string;
  readonly at: EpochMs;
}

/** The keep log for one (agreement, date, partner): the current entry and every earlier one. */
export interface KeepLogDay {
  readonly agreementId: AgreementId;
  readonly date: IsoDate;
  readonly partnerId: PartnerId;
  readonly current: KeepEntry;
  /** Earlier values, oldest first; a correction never removes them. */
  readonly earlier: readonly KeepEntry[];
}

export interface ThreadItem {
  readonly id: AnswerId;
  readonly kind: ThreadItemKind;
  readonly by: PartnerId;
  readonly at: EpochMs;
  readonly text: string;
}

export interface QuestionSnapshot {
  readonly id: QuestionId;
  readonly text: string;
  readonly askedBy: PartnerId;
  readonly askedAt: EpochMs;
  /** Derived from the thread and the closed flag (see SPEC.md). */
  readonly status: QuestionStatus;
  /** The earlier question this one asks again, if any. */
  readonly askAgainOf: QuestionId | null;
  readonly closedBy: PartnerId | null;
  readonly closedAt: EpochMs | null;
  /** The reason given when it was closed, if any. */
  readonly closedReason: string | null;
  /** Answers and follow-ups in thread order (the `answers` Y.Array, append-only). */
  readonly thread: readonly ThreadItem[];
  /** How many thread items each partner has seen (0 = opened, none seen). Absent = never opened. */
  readonly readUpTo: Readonly<Partial<Record<PartnerId, number>>>;
  /** Which thread items each partner has seen. Absent = never opened. */
  readonly seenItems: Readonly<Partial<Record<PartnerId, readonly AnswerId[]>>>;
}

interface CheckinCommon {
  readonly key: CheckinKey;
  readonly date: IsoDate;
  readonly partnerId: PartnerId;
  readonly createdAt: EpochMs;
  readonly updatedAt: EpochMs;
}

/** A check-in both partners read whole. */
export interface OpenCheckinSnapshot extends CheckinCommon {
  readonly private: null;
  /** Felt safety, integer 0-10. */
  readonly safety: number;
  readonly state: CheckinState;
  readonly note: string;
}

/** A check-in whose note its author keeps to themselves; its safety and state are shared. */
export interface PrivateNoteCheckinSnapshot extends CheckinCommon {
  readonly private: typeof PrivateScope.note;
  readonly safety: number;
  readonly state: CheckinState;
  /** Always empty: the note is in `sealed`. */
  readonly note: '';
  /** The note, sealed for the author's devices (base64url; @mend/sealed opens it). */
  readonly sealed: string;
}

/** A check-in its author keeps to themselves whole: the other partner reads only that it exists. */
export interface PrivateCheckinSnapshot extends CheckinCommon {
  readonly private: typeof PrivateScope.checkin;
  /** Safety, state and note, sealed for the author's devices (base64url). */
  readonly sealed: string;
}

/** A day's check-in; `private` says what of it only its author can read. */
export type CheckinSnapshot =
  OpenCheckinSnapshot | PrivateNoteCheckinSnapshot | PrivateCheckinSnapshot;

export interface BoundarySnapshot {
  readonly id: BoundaryId;
  readonly text: string;
  readonly owner: PartnerId;
  readonly createdAt: EpochMs;
  readonly updatedAt: EpochMs;
  /** `textFingerprint(text)`; pass it to `acknowledgeBoundary`. */
  readonly fingerprint: string;
  /** Present only while it acknowledges the current text. */
  readonly acknowledgement: { readonly by: PartnerId; readonly at: EpochMs } | null;
}

/**
 * Something one partner did to a thing both share (paused, retired or resumed an agreement,
 * closed a question), shown to the other partner until they have seen it.
 */
export type PartnerChange =
  | {
      readonly kind: 'agreement';
      readonly agreementId: AgreementId;
      readonly title: string;
      readonly lifecycle: AgreementLifecycle;
      readonly by: PartnerId;
      readonly at: EpochMs;
      readonly reason: string | null;
    }
  | {
      readonly kind: 'question';
      readonly questionId: QuestionId;
      readonly text: string;
      readonly by: PartnerId;
      readonly at: EpochMs;
      readonly reason: string | null;
    };

/** What a partner writes in a daily share (FANOS); every text may be empty but the feelings. */
export interface ShareContent {
  /** Chosen from `Feeling`, in its order, each at most once. */
  readonly feelings: readonly Feeling[];
  /** The feelings in the partner's own words. */
  readonly feelingWords: string;
  /** One thing the other partner did that this partner is grateful for. */
  readonly affirmation: string;
  readonly needs: string;
  /** Something this partner owns today. */
  readonly ownership: string;
  /** Struggles or slips, told honestly (sobriety, where it applies). */
  readonly struggles: string;
}

export interface ShareSnapshot extends ShareContent {
  readonly key: ShareKey;
  readonly date: IsoDate;
  /** The author: the share is theirs, and only they write it. */
  readonly partnerId: PartnerId;
  readonly createdAt: EpochMs;
  readonly updatedAt: EpochMs;
  /** `shareFingerprint(content)`: what a heard mark is tied to. */
  readonly fingerprint: string;
  /**
   * The other partner's "I heard you", or `null`. `ofCurrentWords` is false only when the author
   * changed the share on a device that had not yet received the mark; the listener may then hear
   * the new words (SPEC.md, Daily shares).
   */
  readonly heard: {
    readonly by: PartnerId;
    readonly at: EpochMs;
    readonly ofCurrentWords: boolean;
  } | null;
}

export interface BreakSnapshot {
  readonly id: BreakId;
  /** The partner who called it: the break is theirs, and only they end it. */
  readonly by: PartnerId;
  /** The caller's calendar day when they called it. */
  readonly date: IsoDate;
  readonly minutes: BreakLength;
  readonly calledAt: EpochMs;
  /** When the caller said they would come back: `calledAt + minutes`. */
  readonly returnAt: EpochMs;
  /** When the caller said "I'm back", or `null` while they have not. */
  readonly endedAt: EpochMs | null;
  readonly status: BreakStatus;
}

/** One partner's answer to a reveal, as the document holds it: sealed until its key is published. */
export interface HiddenAnswerSnapshot {
  readonly answerId: AnswerId;
  readonly by: PartnerId;
  /** Nonce, ciphertext and tag: opened by @mend/sealed with the answer's key. */
  readonly sealed: Uint8Array;
  /** SHA-256 of the answer's key: a published key is the one the author sealed with. */
  readonly commitment: Uint8Array;
  readonly at: EpochMs;
  /** The answer's key, once its author's device published it (both partners had answered). */
  readonly key: Uint8Array | null;
  readonly keyPublishedAt: EpochMs | null;
}

export interface RevealFollowUp {
  readonly id: AnswerId;
  readonly by: PartnerId;
  readonly text: string;
  readonly at: EpochMs;
}

export interface RevealPartnerView {
  readonly partnerId: PartnerId;
  readonly status: RevealAnswerStatus;
  /** Null while this partner has not answered. */
  readonly answer: HiddenAnswerSnapshot | null;
}

export interface RevealSnapshot {
  readonly id: RevealId;
  readonly prompt: string;
  /** The practice's tag (`REVEAL_KIND_PATTERN`), or null for a plain prompt. */
  readonly kind: string | null;
  readonly createdBy: PartnerId;
  readonly createdAt: EpochMs;
  /** Each partner of the space, in `partnerIds` order, and where their answer stands. */
  readonly partners: readonly RevealPartnerView[];
  /** Both partners answered: each one's device publishes its key now. */
  readonly bothAnswered: boolean;
  /** Both answers' keys are published: both can be read, side by side, and never change. */
  readonly revealed: boolean;
  /** Later thoughts, in the order appended (only after the reveal). */
  readonly followUps: readonly RevealFollowUp[];
}

/**
 * The four steps of an after-a-fight repair that are answered separately and revealed together,
 * in order; each is a reveal whose kind is `after-a-fight-<step>` (SPEC.md, After a fight).
 */
export const RepairStep = {
  /** How I felt: chosen from `Feeling`, plus words (`repairFeelingsAnswer`). */
  feelings: 'feelings',
  /** My own reality of what happened. */
  reality: 'reality',
  /** What it triggered in me. */
  triggered: 'triggered',
  /** What I own of it. */
  owned: 'owned',
} as const;
export type RepairStep = (typeof RepairStep)[keyof typeof RepairStep];

/** A reveal's kind for a repair's step (within `REVEAL_KIND_PATTERN`). */
export const REPAIR_REVEAL_KIND: Readonly<Record<RepairStep, string>> = {
  feelings: 'after-a-fight-feelings',
  reality: 'after-a-fight-reality',
  triggered: 'after-a-fight-triggered',
  owned: 'after-a-fight-owned',
};

/** What both partners are asked at each step; the reveal's prompt. */
export const REPAIR_PROMPTS: Readonly<Record<RepairStep, string>> = {
  feelings: 'What did you feel? Choose from the list, and say it in your words.',
  reality: 'What was your reality of what happened? Describe only your own experience.',
  triggered: 'What did it trigger in you? Something from before, an old hurt.',
  owned: 'What do you own of what happened?',
};

/** One version of a partner's step five; the latest in list order is the current one. */
export interface RepairNextTimeVersion {
  readonly id: AnswerId;
  readonly by: PartnerId;
  readonly text: string;
  readonly at: EpochMs;
}

export interface RepairStepView {
  readonly step: RepairStep;
  readonly revealId: RevealId;
  /** Null only while the reveal has not fully arrived (it is written with the repair). */
  readonly reveal: RevealSnapshot | null;
}

export interface RepairPartnerNextTime {
  readonly partnerId: PartnerId;
  /**
   * The partner's step five: the latest version, or once the repair is completed, the version
   * it was completed with (never changes after). Null while they have written none.
   */
  readonly current: RepairNextTimeVersion | null;
  /** The draft agreement made of it, once (`repairNextTimeToAgreement`). */
  readonly agreementId: AgreementId | null;
}

export interface RepairSnapshot {
  readonly id: RepairId;
  readonly title: string;
  readonly startedBy: PartnerId;
  readonly startedAt: EpochMs;
  /** Steps one to four, in order. */
  readonly steps: readonly RepairStepView[];
  /** Both partners answered all four steps. */
  readonly stepsAnswered: boolean;
  /** All four steps are revealed: both read both. */
  readonly stepsRevealed: boolean;
  /** Each partner of the space, in `partnerIds` order. */
  readonly nextTime: readonly RepairPartnerNextTime[];
  /** All four revealed, both wrote step five, not completed yet. */
  readonly canComplete: boolean;
  readonly completed: { readonly by: PartnerId; readonly at: EpochMs } | null;
}

/** The day of the week the couple picked for their meeting: 0 Sunday to 6 Saturday. */
export interface MeetingDaySetting {
  readonly weekday: number | null;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

export interface MeetingAppreciation {
  readonly id: AnswerId;
  readonly by: PartnerId;
  readonly text: string;
  readonly at: EpochMs;
}

export interface MeetingPartnerPart {
  readonly partnerId: PartnerId;
  /** When this partner first wrote in the meeting, or null if they have not. */
  readonly joinedAt: EpochMs | null;
  /** Their appreciations, in the order they added them. */
  readonly appreciations: readonly MeetingAppreciation[];
  readonly wentWell: { readonly text: string; readonly at: EpochMs } | null;
}

export interface MeetingIssue {
  readonly repairId: RepairId;
  readonly by: PartnerId;
  readonly at: EpochMs;
  /** The repair it is worked through with; null while it has not arrived. */
  readonly repair: RepairSnapshot | null;
}

export interface MeetingSnapshot {
  /** The Monday of the meeting's week: the meeting's key. */
  readonly week: IsoDate;
  /** Whoever wrote first in the meeting (by time, then partner order). */
  readonly startedBy: PartnerId;
  readonly startedAt: EpochMs;
  /** Each partner of the space, in `partnerIds` order. */
  readonly partners: readonly MeetingPartnerPart[];
  /** The one issue worked through, if any. */
  readonly issue: MeetingIssue | null;
}
