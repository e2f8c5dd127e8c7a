// Test support only (excluded from the build): every write a partner's app can make, as
// fast-check arbitraries, performed through the model's own functions.
import fc from 'fast-check';
import type * as Y from 'yjs';
import {
  acceptAgreement,
  agreementTexts,
  editAgreement,
  listAgreements,
  logKeep,
  proposeAgreement,
  setAgreementLifecycle,
} from '../agreements.js';
import { acknowledgeBoundary, addBoundary, editBoundary, listBoundaries } from '../boundaries.js';
import { callBreak, endBreak, listBreaks, takeMoreTime } from '../breaks.js';
import { checkIn } from '../checkins.js';
import { checkInPrivately } from '../privateCheckins.js';
import { nameDevice, readDeviceNames } from '../devices.js';
import { ModelError } from '../errors.js';
import type { IdGenerator, PartnerId } from '../ids.js';
import { changesToSee, markChangeSeen } from '../notices.js';
import { Origin } from '../origin.js';
import {
  addFollowUp,
  answerQuestion,
  answerText,
  askQuestion,
  closeQuestion,
  listQuestions,
  markQuestionRead,
  questionText,
  reopenQuestion,
} from '../questions.js';
import {
  AgreementLifecycle,
  BreakLength,
  BreakStatus,
  CheckinState,
  Feeling,
  KeepValue,
  PrivateScope,
  Role,
} from '../schema.js';
import {
  addRevealFollowUp,
  answerKeysDue,
  listReveals,
  openReveal,
  publishAnswerKey,
  submitHiddenAnswer,
} from '../reveals.js';
import { listShares, markShareHeard, saveShare } from '../shares.js';
import {
  completeRepair,
  listRepairs,
  repairNextTimeToAgreement,
  setRepairNextTime,
  startRepair,
} from '../repairs.js';
import {
  addAppreciation,
  listMeetings,
  meetingIssue,
  setMeetingDay,
  setWentWell,
  startMeeting,
} from '../meetings.js';
import { testAnswer } from './reveals.js';
import {
  markPartnerSeen,
  renameSpace,
  setDisplayName,
  setPartnerRole,
  setPresenceSharing,
} from '../space.js';

const WORDS = ['we', 'will', 'talk', 'daily', 'no', 'contact', 'é', '🌱', 'call', 'first'];
const DATES = ['2026-11-01', '2026-11-02', '2026-11-03'];
/**
 * A partner's today, for what is written on its day only (shares, breaks): the runs write at
 * T0 (2026-11-01 09:00 UTC) and a few minutes after, which is the 1st in most time zones and
 * still the 31st in the farthest west.
 */
const TODAYS = ['2026-11-01', '2026-10-31'];

const word = fc.constantFrom(...WORDS);
const words = (min: number) =>
  fc.array(word, { minLength: min, maxLength: 5 }).map((w) => w.join(' '));
const pick = fc.nat({ max: 1000 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/**
 * The practices of issue 14: a daily share, hearing one, a break called, ended or extended, a
 * check-in kept private (its note or all of it; the sealed text is opaque to the model).
 */
const practiceOps = [
  fc.record({
    t: fc.constant('privateCheckin' as const),
    date: fc.constantFrom(...TODAYS),
    scope: fc.constantFrom(...Object.values(PrivateScope)),
    safety: fc.integer({ min: 0, max: 10 }),
    state: fc.constantFrom(...Object.values(CheckinState)),
    sealed: fc.constantFrom('c2VhbGVkIG9uZQ', 'c2VhbGVkIHR3bw'),
  }),
  fc.record({
    t: fc.constant('share' as const),
    date: fc.constantFrom(...TODAYS),
    feelings: fc.subarray(Object.values(Feeling), { minLength: 1, maxLength: 3 }),
    feelingWords: words(0),
    affirmation: words(0),
    needs: words(0),
  }),
  fc.record({ t: fc.constant('hear' as const), pick }),
  fc.record({
    t: fc.constant('callBreak' as const),
    date: fc.constantFrom(...TODAYS),
    minutes: fc.constantFrom(...Object.values(BreakLength)),
  }),
  fc.record({ t: fc.constant('endBreak' as const), pick }),
  fc.record({
    t: fc.constant('moreTime' as const),
    pick,
    date: fc.constantFrom(...TODAYS),
    minutes: fc.constantFrom(...Object.values(BreakLength)),
  }),
] as const;

/** Only the practices: racing them on one day is what their rules are about. */
export const practiceOp = fc.oneof(...practiceOps);

/**
 * Answers revealed together: a prompt opened, answered (hidden), the device publishing what keys
 * are due (as every device of the author does on its own), a later thought after the reveal.
 */
export const revealOps = [
  fc.record({
    t: fc.constant('openReveal' as const),
    prompt: words(1),
    kind: maybe(fc.constantFrom('after-a-fight', 'state-of-the-union')),
  }),
  fc.record({ t: fc.constant('answerReveal' as const), pick, words: words(1) }),
  fc.record({ t: fc.constant('publishKeys' as const) }),
  fc.record({ t: fc.constant('revealFollowUp' as const), pick, text: words(1) }),
] as const;

export const revealOp = fc.oneof(...revealOps);

/** The week the runs write in: T0 is Sunday 2026-11-01, so its week began on Monday 26 October. */
export const RUN_WEEK = '2026-10-26';

/**
 * After a fight and the weekly meeting. Steps one to four are answered with `answerReveal` and
 * `publishKeys`, as any reveal.
 */
export const repairOps = [
  fc.record({ t: fc.constant('startRepair' as const), title: words(1) }),
  fc.record({ t: fc.constant('nextTime' as const), pick, text: words(1) }),
  fc.record({ t: fc.constant('draft' as const), pick }),
  fc.record({ t: fc.constant('completeRepair' as const), pick }),
  fc.record({ t: fc.constant('startMeeting' as const) }),
  fc.record({ t: fc.constant('appreciate' as const), text: words(1) }),
  fc.record({ t: fc.constant('wentWell' as const), text: words(0) }),
  fc.record({ t: fc.constant('meetingIssue' as const), pick }),
  fc.record({
    t: fc.constant('meetingDay' as const),
    weekday: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
  }),
] as const;

export const honestOp = fc.oneof(
  fc.record({ t: fc.constant('propose' as const), title: words(1), body: words(0) }),
  fc.record({ t: fc.constant('edit' as const), pick, title: maybe(words(1)), body: words(0) }),
  fc.record({
    t: fc.constant('type' as const),
    pick,
    where: fc.constantFrom('agreement', 'question', 'answer'),
    pos: fc.nat({ max: 40 }),
    text: word,
    remove: fc.nat({ max: 3 }),
  }),
  fc.record({ t: fc.constant('accept' as const), pick }),
  fc.record({
    t: fc.constant('lifecycle' as const),
    pick,
    lifecycle: fc.constantFrom(...Object.values(AgreementLifecycle)),
    reason: maybe(words(0)),
  }),
  fc.record({
    t: fc.constant('keep' as const),
    pick,
    date: fc.constantFrom(...DATES),
    value: fc.constantFrom(...Object.values(KeepValue)),
    note: words(0),
  }),
  fc.record({ t: fc.constant('ask' as const), text: words(1), again: maybe(pick) }),
  fc.record({ t: fc.constant('answer' as const), pick, followUp: fc.boolean(), text: words(1) }),
  fc.record({
    t: fc.constant('close' as const),
    pick,
    reopen: fc.boolean(),
    reason: maybe(words(0)),
  }),
  fc.record({ t: fc.constant('seeChange' as const), pick }),
  fc.record({ t: fc.constant('read' as const), pick }),
  fc.record({
    t: fc.constant('checkin' as const),
    date: fc.constantFrom(...DATES),
    safety: fc.integer({ min: 0, max: 10 }),
    state: fc.constantFrom(...Object.values(CheckinState)),
    note: maybe(words(0)),
  }),
  fc.record({ t: fc.constant('boundary' as const), text: words(1) }),
  fc.record({ t: fc.constant('editBoundary' as const), pick, text: words(1) }),
  fc.record({ t: fc.constant('ack' as const), pick }),
  fc.record({
    t: fc.constant('role' as const),
    role: fc.constantFrom(Role.hurt, Role.repairing, null),
  }),
  fc.record({ t: fc.constant('seen' as const) }),
  fc.record({
    t: fc.constant('presence' as const),
    here: maybe(fc.boolean()),
    lastSeen: maybe(fc.boolean()),
  }),
  fc.record({ t: fc.constant('rename' as const), name: words(0) }),
  fc.record({ t: fc.constant('displayName' as const), name: words(1) }),
  fc.record({
    t: fc.constant('nameDevice' as const),
    own: fc.boolean(),
    pick,
    name: fc.constantFrom('Phone', 'Laptop', 'Work 💻', "Alex's phone"),
  }),
  ...practiceOps,
  ...revealOps,
  ...repairOps,
);
export type HonestOp = typeof honestOp extends fc.Arbitrary<infer T> ? T : never;

function nth<T>(items: readonly T[], n: number): T | undefined {
  return items.length === 0 ? undefined : items[n % items.length];
}

export interface HonestDevice {
  /**
   * Whether this device answers reveals. Two devices of one partner answering the same prompt
   * unaware of each other both write the partner's one answer, and the one sequenced second is
   * refused (SPEC.md, Reveals: a known limit), so in runs where nothing honest may be refused
   * only one device of each partner answers.
   */
  readonly answersReveals?: boolean;
  /**
   * Whether this device makes the writes that are set once and shared by both partners (a
   * repair's completion, a meeting's issue): two devices making them unaware of each other, the
   * one sequenced second is refused (SPEC.md, After a fight: known limits), so in runs where
   * nothing honest may be refused only one device makes them. A step five's draft agreement is
   * the partner's own and is made by the devices that answer reveals.
   */
  readonly setsShared?: boolean;
  /**
   * The device's own signing key, which it names (creating its entry) when the op says so; any
   * device renames its partner's entries it has received. Only a device creates its own entry,
   * as in the app: two devices creating one unaware of each other, the one sequenced second is
   * refused (set once).
   */
  readonly deviceKey?: string;
}

/**
 * Performs `op` as `partnerId` would in the app on `doc`. An operation the model refuses
 * (a stale wording, a closed question) writes nothing and is skipped, as the app would.
 */
export function performHonestly(
  doc: Y.Doc,
  partnerId: PartnerId,
  op: HonestOp,
  at: number,
  newId: IdGenerator,
  device: HonestDevice = {},
): void {
  if ((op.t === 'answerReveal' || op.t === 'draft') && device.answersReveals === false) return;
  if ((op.t === 'completeRepair' || op.t === 'meetingIssue') && device.setsShared === false) {
    return;
  }
  try {
    perform(doc, partnerId, op, at, newId, device.deviceKey);
  } catch (error) {
    if (!(error instanceof ModelError)) throw error;
  }
}

function nameSomeDevice(
  doc: Y.Doc,
  partnerId: PartnerId,
  op: Extract<HonestOp, { t: 'nameDevice' }>,
  now: number,
  own: string | undefined,
): void {
  const theirs = [...readDeviceNames(doc)].filter(([, d]) => d.partnerId === partnerId);
  const device = op.own ? own : nth(theirs, op.pick)?.[0];
  if (device !== undefined) nameDevice(doc, { partnerId, device, name: op.name, now });
}

function perform(
  doc: Y.Doc,
  partnerId: PartnerId,
  op: HonestOp,
  at: number,
  newId: IdGenerator,
  deviceKey: string | undefined,
): void {
  const agreement = () => nth(listAgreements(doc), 'pick' in op ? op.pick : 0);
  const question = () => nth(listQuestions(doc), 'pick' in op ? op.pick : 0);
  switch (op.t) {
    case 'propose':
      proposeAgreement(doc, { title: op.title, body: op.body, by: partnerId, at }, newId);
      return;
    case 'edit': {
      const a = agreement();
      if (a) {
        const title = op.title === undefined ? {} : { title: op.title };
        editAgreement(doc, { agreementId: a.id, ...title, body: op.body, by: partnerId, at });
      }
      return;
    }
    case 'type': {
      const text = typedText(doc, partnerId, op.where, op.pick);
      if (!text) return;
      doc.transact(() => {
        const pos = Math.min(op.pos, text.length);
        text.delete(pos, Math.min(op.remove, text.length - pos));
        // Typing a word after deleting keeps every text non-empty, as the model requires.
        text.insert(pos, op.text);
      }, Origin.liveEdit);
      return;
    }
    case 'accept': {
      const a = agreement();
      if (a) acceptAgreement(doc, { agreementId: a.id, partnerId, fingerprint: a.fingerprint, at });
      return;
    }
    case 'lifecycle': {
      const a = agreement();
      const reason = op.reason === undefined ? {} : { reason: op.reason };
      if (a)
        setAgreementLifecycle(doc, {
          agreementId: a.id,
          lifecycle: op.lifecycle,
          by: partnerId,
          at,
          ...reason,
        });
      return;
    }
    case 'keep': {
      const a = agreement();
      if (a) {
        logKeep(
          doc,
          { agreementId: a.id, partnerId, date: op.date, value: op.value, note: op.note, at },
          newId,
        );
      }
      return;
    }
    case 'ask': {
      const earlier = op.again === undefined ? undefined : nth(listQuestions(doc), op.again);
      const again = earlier ? { askAgainOf: earlier.id } : {};
      askQuestion(doc, { text: op.text, by: partnerId, at, ...again }, newId);
      return;
    }
    case 'answer': {
      const q = question();
      if (!q) return;
      const input = { questionId: q.id, text: op.text, by: partnerId, at };
      if (op.followUp) addFollowUp(doc, input, newId);
      else answerQuestion(doc, input, newId);
      return;
    }
    case 'close': {
      const q = question();
      if (!q) return;
      if (op.reopen) reopenQuestion(doc, { questionId: q.id, by: partnerId, at });
      else {
        const reason = op.reason === undefined ? {} : { reason: op.reason };
        closeQuestion(doc, { questionId: q.id, by: partnerId, at, ...reason });
      }
      return;
    }
    case 'seeChange': {
      const change = nth(changesToSee(doc, partnerId), op.pick);
      if (change) markChangeSeen(doc, { change, partnerId });
      return;
    }
    case 'read': {
      const q = question();
      if (q) markQuestionRead(doc, { questionId: q.id, partnerId, at });
      return;
    }
    case 'checkin': {
      const note = op.note === undefined ? {} : { note: op.note };
      checkIn(doc, { partnerId, date: op.date, safety: op.safety, state: op.state, at, ...note });
      return;
    }
    case 'privateCheckin': {
      const common = { partnerId, date: op.date, sealed: op.sealed, at };
      checkInPrivately(
        doc,
        op.scope === PrivateScope.note
          ? { ...common, scope: op.scope, safety: op.safety, state: op.state }
          : { ...common, scope: op.scope },
      );
      return;
    }
    case 'boundary':
      addBoundary(doc, { text: op.text, owner: partnerId, at }, newId);
      return;
    case 'editBoundary': {
      const own = listBoundaries(doc).filter((b) => b.owner === partnerId);
      const b = nth(own, op.pick);
      if (b) editBoundary(doc, { boundaryId: b.id, text: op.text, by: partnerId, at });
      return;
    }
    case 'ack': {
      const theirs = listBoundaries(doc).filter((b) => b.owner !== partnerId);
      const b = nth(theirs, op.pick);
      if (b)
        acknowledgeBoundary(doc, {
          boundaryId: b.id,
          by: partnerId,
          fingerprint: b.fingerprint,
          at,
        });
      return;
    }
    case 'role':
      setPartnerRole(doc, { partnerId, role: op.role });
      return;
    case 'seen':
      markPartnerSeen(doc, { partnerId, at, minIntervalMs: 0 });
      return;
    case 'presence': {
      const here = op.here === undefined ? {} : { here: op.here };
      const lastSeen = op.lastSeen === undefined ? {} : { lastSeen: op.lastSeen };
      setPresenceSharing(doc, { partnerId, ...here, ...lastSeen });
      return;
    }
    case 'rename':
      renameSpace(doc, { name: op.name, by: partnerId });
      return;
    case 'displayName':
      setDisplayName(doc, { partnerId, displayName: op.name });
      return;
    case 'share':
      saveShare(doc, {
        partnerId,
        date: op.date,
        feelings: op.feelings,
        feelingWords: op.feelingWords,
        affirmation: op.affirmation,
        needs: op.needs,
        at,
      });
      return;
    case 'hear': {
      // Any of the other partner's shares, heard already or not: the model decides.
      const theirs = listShares(doc).filter((s) => s.partnerId !== partnerId);
      const share = nth(theirs, op.pick);
      if (share) {
        markShareHeard(doc, {
          shareKey: share.key,
          by: partnerId,
          fingerprint: share.fingerprint,
          at,
        });
      }
      return;
    }
    case 'callBreak':
      callBreak(doc, { by: partnerId, minutes: op.minutes, date: op.date, at }, newId);
      return;
    case 'endBreak': {
      // Any of the partner's own breaks, open or not: ending one that is not open writes nothing.
      const own = listBreaks(doc).filter((b) => b.by === partnerId);
      const b = nth(own, op.pick);
      if (b) endBreak(doc, { breakId: b.id, by: partnerId, at });
      return;
    }
    case 'moreTime': {
      const open = listBreaks(doc).filter(
        (b) => b.by === partnerId && b.status === BreakStatus.open,
      );
      const b = nth(open, op.pick);
      // Asked for once the named time has come: the device's clock is past it.
      if (b) {
        takeMoreTime(
          doc,
          {
            breakId: b.id,
            by: partnerId,
            minutes: op.minutes,
            date: op.date,
            at: Math.max(at, b.returnAt),
          },
          newId,
        );
      }
      return;
    }
    case 'openReveal': {
      const kind = op.kind === undefined ? {} : { kind: op.kind };
      openReveal(doc, { prompt: op.prompt, createdBy: partnerId, at, ...kind }, newId);
      return;
    }
    case 'answerReveal': {
      const open = listReveals(doc).filter((r) =>
        r.partners.some((p) => p.partnerId === partnerId && p.answer === null),
      );
      const r = nth(open, op.pick);
      if (r) {
        const answer = testAnswer(r.id, partnerId, op.words);
        submitHiddenAnswer(doc, { revealId: r.id, partnerId, ...answer, at });
      }
      return;
    }
    case 'publishKeys':
      for (const { revealId } of answerKeysDue(doc, partnerId)) {
        publishAnswerKey(doc, {
          revealId,
          partnerId,
          key: testAnswer(revealId, partnerId).key,
          at,
        });
      }
      return;
    case 'revealFollowUp': {
      const r = nth(
        listReveals(doc).filter((r) => r.revealed),
        op.pick,
      );
      if (r) addRevealFollowUp(doc, { revealId: r.id, partnerId, text: op.text, at }, newId);
      return;
    }
    case 'startRepair':
      startRepair(doc, { title: op.title, startedBy: partnerId, at }, newId);
      return;
    case 'nextTime': {
      const r = nth(listRepairs(doc), op.pick);
      if (r) setRepairNextTime(doc, { repairId: r.id, partnerId, text: op.text, at }, newId);
      return;
    }
    case 'draft': {
      const r = nth(listRepairs(doc), op.pick);
      if (r) repairNextTimeToAgreement(doc, { repairId: r.id, partnerId, at }, newId);
      return;
    }
    case 'completeRepair': {
      const r = nth(
        listRepairs(doc).filter((x) => x.canComplete),
        op.pick,
      );
      if (r) completeRepair(doc, { repairId: r.id, by: partnerId, at });
      return;
    }
    case 'startMeeting':
      startMeeting(doc, { week: RUN_WEEK, startedBy: partnerId, at });
      return;
    case 'appreciate':
      if (listMeetings(doc).length > 0) {
        addAppreciation(doc, { week: RUN_WEEK, partnerId, text: op.text, at }, newId);
      }
      return;
    case 'wentWell':
      if (listMeetings(doc).length > 0) {
        setWentWell(doc, { week: RUN_WEEK, partnerId, text: op.text, at });
      }
      return;
    case 'meetingIssue': {
      const r = nth(listRepairs(doc), op.pick);
      if (r && listMeetings(doc).length > 0) {
        meetingIssue(doc, { week: RUN_WEEK, repairId: r.id, by: partnerId, at });
      }
      return;
    }
    case 'meetingDay':
      setMeetingDay(doc, { weekday: op.weekday, by: partnerId, at });
      return;
    case 'nameDevice':
      nameSomeDevice(doc, partnerId, op, at, deviceKey);
      return;
    default: {
      const unreachable: never = op;
      throw new Error(`unknown op ${JSON.stringify(unreachable)}`);
    }
  }
}

/** A text the partner may type into: any agreement's, or a question or answer of their own. */
function typedText(
  doc: Y.Doc,
  partnerId: PartnerId,
  where: 'agreement' | 'question' | 'answer',
  n: number,
): Y.Text | undefined {
  switch (where) {
    case 'agreement': {
      const a = nth(listAgreements(doc), n);
      return a && agreementTexts(doc, a.id).body;
    }
    case 'question': {
      const q = nth(
        listQuestions(doc).filter((q) => q.askedBy === partnerId),
        n,
      );
      return q && questionText(doc, q.id);
    }
    case 'answer': {
      const own = listQuestions(doc).flatMap((q) =>
        q.thread.filter((i) => i.by === partnerId).map((i) => ({ q: q.id, i: i.id })),
      );
      const item = nth(own, n);
      return item && answerText(doc, item.q, item.i);
    }
    default: {
      const unreachable: never = where;
      return unreachable;
    }
  }
}
