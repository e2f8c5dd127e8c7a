import { checkinKey, isPrivatePart } from './checkins.js';
import { isId, isSealingKey, type PartnerId } from './ids.js';
import {
  Who,
  type ContainerSpec,
  type FieldRule,
  type MapSpec,
  type TextSpec,
} from './ruleSpecs.js';
import {
  AgreementLifecycle,
  BreakLength,
  CheckinState,
  Limits,
  MAX_PARTNERS,
  QuestionStatus,
  Role,
  Root,
  SCHEMA_VERSION,
  ThreadItemKind,
} from './schema.js';
import { isRevealKind } from './reveals.js';
import {
  afterTheReveal,
  hiddenAnswer,
  keyAfterBothAnswered,
  publishedKey,
  revealFollowUp,
} from './revealChecks.js';
import { meetingKey } from './meetings.js';
import {
  appreciation,
  meetingDay,
  meetingIssueLink,
  meetingWeek,
  nextTimeVersion,
  onlyIssueOfTheWeek,
  repairCompletion,
  repairDraft,
  repairSteps,
  wentWell,
} from './repairChecks.js';
import { isDeviceName, isIsoTime } from './devices.js';
import { sealingKeysProblem } from './sealing.js';
import { shareKey } from './shares.js';
import {
  acceptance,
  acknowledgement,
  bool,
  color,
  epoch,
  feelingList,
  heardMark,
  historyEntry,
  id,
  isoDate,
  keepEntry,
  leaf,
  oneOf,
  ownField,
  parseDayKey,
  readMarker,
  sameAsKey,
  self,
  textOf,
  type LeafContext,
  type LeafRule,
} from './valueChecks.js';

/*
 * Who may write what in a space, as one table (SPEC.md, "Authorship"), in the terms of
 * ruleSpecs.ts: every place a space's document has, what it may hold, who may write or remove
 * it, and whether it is set once. Anything the table does not name is refused.
 */

/** The rules of every top-level type; a root not named here is refused. */
function spaceRules(): Readonly<Record<Root, ContainerSpec>> {
  const text = (name: string, write: Who): TextSpec => ({ kind: 'text', name, write });
  const once = (value: LeafRule | ContainerSpec, write: Who = Who.anyone): FieldRule => ({
    value,
    write,
    once: true,
  });

  const PARTNER: MapSpec = {
    kind: 'map',
    name: 'partner',
    fields: {
      id: once(leaf(sameAsKey), Who.owner),
      displayName: { value: leaf(textOf(1, Limits.displayName)), write: Who.owner },
      joinedAt: once(leaf(epoch), Who.owner),
      color: { value: leaf(color), write: Who.owner },
      role: { value: leaf(oneOf(Role)), write: Who.owner, remove: Who.owner },
      lastSeenAt: { value: leaf(epoch), write: Who.owner, remove: Who.owner },
      showsHere: { value: leaf(bool), write: Who.owner },
      showsLastSeen: { value: leaf(bool), write: Who.owner },
    },
    required: ['id', 'displayName', 'joinedAt', 'color'],
  };

  const AGREEMENT: MapSpec = {
    kind: 'map',
    name: 'agreement',
    fields: {
      id: once(leaf(sameAsKey)),
      title: once(text('agreement title', Who.anyone)),
      body: once(text('agreement text', Who.anyone)),
      createdBy: once(leaf(id, self)),
      proposedBy: once(leaf(id, self)),
      createdAt: once(leaf(epoch)),
      lifecycle: { value: leaf(oneOf(AgreementLifecycle)), write: Who.anyone },
      lifecycleBy: { value: leaf(id, self), write: Who.anyone },
      lifecycleAt: { value: leaf(epoch), write: Who.anyone },
      lifecycleReason: {
        value: leaf(textOf(0, Limits.note)),
        write: Who.anyone,
        remove: Who.anyone,
      },
      lifecycleSeenAt: { value: leaf(epoch), write: Who.anyone },
      lastEditedBy: { value: leaf(id, self), write: Who.anyone },
      lastEditedAt: { value: leaf(epoch), write: Who.anyone },
      acceptances: once({
        kind: 'dict',
        name: 'acceptances',
        key: isId,
        entry: { value: leaf(acceptance), write: Who.owner },
        owner: (key) => key,
      }),
      history: once({
        kind: 'list',
        name: 'acceptance history',
        element: { value: leaf(historyEntry, ownField('acceptedBy')), write: Who.anyone },
      }),
      keepLog: once({
        kind: 'list',
        name: 'keep log',
        element: { value: leaf(keepEntry, ownField('partnerId')), write: Who.anyone },
      }),
    },
    required: [
      'id',
      'title',
      'body',
      'createdBy',
      'proposedBy',
      'createdAt',
      'lifecycle',
      'acceptances',
      'history',
      'keepLog',
    ],
  };

  const ANSWER: MapSpec = {
    kind: 'map',
    name: 'answer',
    fields: {
      id: once(leaf(id)),
      kind: once(leaf(oneOf(ThreadItemKind))),
      by: once(leaf(id, self)),
      at: once(leaf(epoch)),
      text: once(text('answer', Who.owner)),
    },
    required: ['id', 'kind', 'by', 'at', 'text'],
    owner: 'by',
  };

  const QUESTION: MapSpec = {
    kind: 'map',
    name: 'question',
    fields: {
      id: once(leaf(sameAsKey)),
      text: once(text('question', Who.owner)),
      askedBy: once(leaf(id, self)),
      askedAt: once(leaf(epoch)),
      askAgainOf: once(leaf(id)),
      status: { value: leaf(oneOf(QuestionStatus)), write: Who.anyone },
      closedBy: { value: leaf(id, self), write: Who.anyone, remove: Who.anyone },
      closedAt: { value: leaf(epoch), write: Who.anyone, remove: Who.anyone },
      closedReason: { value: leaf(textOf(0, Limits.note)), write: Who.anyone, remove: Who.anyone },
      closedSeenAt: { value: leaf(epoch), write: Who.anyone },
      answers: once({
        kind: 'list',
        name: 'thread',
        element: { value: ANSWER, write: Who.anyone },
      }),
      readMarkers: once({
        kind: 'dict',
        name: 'read markers',
        key: isId,
        entry: { value: leaf(readMarker), write: Who.owner },
        owner: (key) => key,
      }),
    },
    required: ['id', 'text', 'askedBy', 'askedAt', 'status', 'answers', 'readMarkers'],
    owner: 'askedBy',
  };

  const keyPart =
    (part: 'date' | 'partnerId') =>
    (v: unknown, c: LeafContext): string | null =>
      c.recordKey !== null && parseDayKey(c.recordKey)?.[part] === v
        ? null
        : `the ${part} of the record's key`;

  const CHECKIN: MapSpec = {
    kind: 'map',
    name: 'check-in',
    fields: {
      date: once(leaf(keyPart('date')), Who.owner),
      partnerId: once(leaf(keyPart('partnerId'), self), Who.owner),
      createdAt: once(leaf(epoch), Who.owner),
      note: { value: leaf(textOf(0, Limits.note)), write: Who.owner },
      // Removed when the author keeps the whole check-in private (SPEC.md 46), so a new private
      // check-in is written without them.
      safety: {
        value: leaf((v) =>
          Number.isInteger(v) &&
          (v as number) >= Limits.safetyMin &&
          (v as number) <= Limits.safetyMax
            ? null
            : `a whole number from ${Limits.safetyMin} to ${Limits.safetyMax}`,
        ),
        write: Who.owner,
        remove: Who.owner,
      },
      state: { value: leaf(oneOf(CheckinState)), write: Who.owner, remove: Who.owner },
      // What the author keeps to themselves, sealed: theirs to write, and to share again.
      private: {
        value: leaf((v) => (isPrivatePart(v) ? null : 'a private part { scope, sealed }')),
        write: Who.owner,
        remove: Who.owner,
      },
      updatedAt: { value: leaf(epoch), write: Who.owner },
    },
    required: ['date', 'partnerId', 'createdAt', 'note', 'updatedAt'],
  };

  const BOUNDARY: MapSpec = {
    kind: 'map',
    name: 'boundary',
    fields: {
      id: once(leaf(sameAsKey)),
      owner: once(leaf(id, self)),
      createdBy: once(leaf(id, self)),
      createdAt: once(leaf(epoch)),
      text: { value: leaf(textOf(1, Limits.boundaryText)), write: Who.owner },
      updatedAt: { value: leaf(epoch), write: Who.owner },
      // The other partner's; the owner's edit clears it (SPEC.md 19).
      acknowledgement: {
        value: leaf(acknowledgement, ownField('by')),
        write: Who.notOwner,
        remove: Who.owner,
      },
    },
    required: ['id', 'owner', 'createdBy', 'createdAt', 'text', 'updatedAt'],
    owner: 'owner',
  };

  const shareText = (): FieldRule => ({
    value: leaf(textOf(0, Limits.shareText)),
    write: Who.owner,
  });

  // The author's, but for `heard`, which is the listener's (README.md, "Who owns what").
  const SHARE: MapSpec = {
    kind: 'map',
    name: 'share',
    fields: {
      date: once(leaf(keyPart('date')), Who.owner),
      partnerId: once(leaf(keyPart('partnerId'), self), Who.owner),
      createdAt: once(leaf(epoch), Who.owner),
      feelings: { value: leaf(feelingList), write: Who.owner },
      feelingWords: shareText(),
      affirmation: shareText(),
      needs: shareText(),
      ownership: shareText(),
      struggles: shareText(),
      updatedAt: { value: leaf(epoch), write: Who.owner },
      // Not set once, and a mark does not freeze the share: a second device of the listener's
      // may mark it unaware of the first, the author's other device may change it unaware of
      // the mark, and the listener then hears the new words (SPEC.md 25, 26). Never removed.
      heard: { value: leaf(heardMark, ownField('by')), write: Who.notOwner },
    },
    required: [
      'date',
      'partnerId',
      'createdAt',
      'feelings',
      'feelingWords',
      'affirmation',
      'needs',
      'ownership',
      'struggles',
      'updatedAt',
    ],
  };

  const BREAK: MapSpec = {
    kind: 'map',
    name: 'break',
    fields: {
      id: once(leaf(sameAsKey)),
      by: once(leaf(id, self)),
      date: once(leaf(isoDate)),
      // With `calledAt`, the time the caller said they would be back: both set once.
      minutes: once(leaf(oneOf(BreakLength))),
      calledAt: once(leaf(epoch)),
      // Not set once: two devices of the caller may end it unaware of each other (SPEC.md 27).
      endedAt: { value: leaf(epoch), write: Who.owner },
    },
    required: ['id', 'by', 'date', 'minutes', 'calledAt'],
    owner: 'by',
  };

  // Answers revealed together (SPEC.md, Reveals): everything is written once but a key, which
  // each of its author's devices may publish, always the same one (it must open the commitment).
  const REVEAL: MapSpec = {
    kind: 'map',
    name: 'reveal',
    fields: {
      id: once(leaf(sameAsKey)),
      prompt: once(leaf(textOf(1, Limits.revealPrompt))),
      // Null for a plain prompt: written when the reveal is opened, so it is never added later.
      kind: once(leaf((v) => (v === null || isRevealKind(v) ? null : 'a reveal kind or null'))),
      createdBy: once(leaf(id, self)),
      createdAt: once(leaf(epoch)),
      answers: once({
        kind: 'dict',
        name: 'hidden answers',
        key: isId,
        entry: once(leaf(hiddenAnswer), Who.owner),
        owner: (key) => key,
        limit: MAX_PARTNERS,
      }),
      keys: once({
        kind: 'dict',
        name: 'published keys',
        key: isId,
        // Not set once: two devices of the author may publish it unaware of each other.
        entry: { value: leaf(publishedKey), write: Who.owner, requires: keyAfterBothAnswered },
        owner: (key) => key,
        limit: MAX_PARTNERS,
      }),
      followUps: once({
        kind: 'list',
        name: 'follow-ups',
        element: {
          value: leaf(revealFollowUp, ownField('by')),
          write: Who.anyone,
          requires: afterTheReveal,
        },
      }),
    },
    required: ['id', 'prompt', 'kind', 'createdBy', 'createdAt', 'answers', 'keys', 'followUps'],
  };

  // After a fight (SPEC.md, After a fight): set once but step five, whose versions are appended
  // by their author; the completion names the versions it was completed with.
  const REPAIR: MapSpec = {
    kind: 'map',
    name: 'repair',
    fields: {
      id: once(leaf(sameAsKey)),
      title: once(leaf(textOf(1, Limits.repairTitle))),
      startedBy: once(leaf(id, self)),
      startedAt: once(leaf(epoch)),
      steps: once(leaf(repairSteps)),
      nextTime: once({
        kind: 'list',
        name: 'step five',
        element: { value: leaf(nextTimeVersion, ownField('by')), write: Who.anyone },
      }),
      drafts: once({
        kind: 'dict',
        name: 'draft agreements',
        key: isId,
        entry: once(leaf(repairDraft), Who.owner),
        owner: (key) => key,
        limit: MAX_PARTNERS,
      }),
      completed: once(leaf(repairCompletion, ownField('by'))),
    },
    required: ['id', 'title', 'startedBy', 'startedAt', 'steps', 'nextTime', 'drafts'],
  };

  // A partner's part of a week's meeting (SPEC.md, Weekly meetings): theirs, like a day's share.
  const MEETING_PART: MapSpec = {
    kind: 'map',
    name: 'meeting',
    fields: {
      week: once(leaf(meetingWeek), Who.owner),
      partnerId: once(leaf(keyPart('partnerId'), self), Who.owner),
      startedAt: once(leaf(epoch), Who.owner),
      appreciations: once(
        {
          kind: 'list',
          name: 'appreciations',
          element: { value: leaf(appreciation, ownField('by')), write: Who.owner },
        },
        Who.owner,
      ),
      wentWell: { value: leaf(wentWell), write: Who.owner },
      issue: {
        value: leaf(meetingIssueLink, ownField('by')),
        write: Who.owner,
        once: true,
        requires: onlyIssueOfTheWeek,
      },
    },
    required: ['week', 'partnerId', 'startedAt', 'appreciations'],
  };

  // A device's name (SPEC.md 50-52): the entry is its partner's, created once with its partner and
  // time, and only its name changes after, by any device of that partner.
  const DEVICE: MapSpec = {
    kind: 'map',
    name: 'device name',
    fields: {
      partnerId: once(leaf(id, self)),
      name: {
        value: leaf((v) =>
          isDeviceName(v) ? null : `trimmed text of 1 to ${Limits.deviceName} characters`,
        ),
        write: Who.owner,
      },
      addedAt: once(leaf((v) => (isIsoTime(v) ? null : 'an ISO 8601 time in UTC'))),
    },
    required: ['partnerId', 'name', 'addedAt'],
    owner: 'partnerId',
  };

  return {
    [Root.space]: {
      kind: 'map',
      name: 'space',
      fields: {
        name: { value: leaf(textOf(0, Limits.spaceName)), write: Who.anyone },
        // The weekly meeting's day: either partner's choice, the last one counts.
        meetingDay: { value: leaf(meetingDay, ownField('by')), write: Who.anyone },
        createdAt: once(leaf(epoch)),
        schemaVersion: once(
          leaf((v) => (v === SCHEMA_VERSION ? null : `schema version ${SCHEMA_VERSION}`)),
        ),
      },
      required: [],
    },
    [Root.partners]: {
      kind: 'dict',
      name: 'partners',
      key: isId,
      // A partner writes their own record, including its creation when they join.
      entry: once(PARTNER, Who.owner),
      owner: (key) => key,
      limit: MAX_PARTNERS,
    },
    [Root.agreements]: { kind: 'dict', name: 'agreements', key: isId, entry: once(AGREEMENT) },
    [Root.questions]: { kind: 'dict', name: 'questions', key: isId, entry: once(QUESTION) },
    [Root.checkins]: {
      kind: 'dict',
      name: 'check-ins',
      key: (key) => {
        const parsed = parseDayKey(key);
        return parsed !== null && checkinKey(parsed.date, parsed.partnerId as PartnerId) === key;
      },
      // Not set once: two devices of one partner may create the day's check-in at once, and the
      // one Yjs keeps replaces the other (SPEC.md 16).
      entry: { value: CHECKIN, write: Who.owner },
      owner: (key) => parseDayKey(key)?.partnerId ?? null,
    },
    [Root.boundaries]: { kind: 'dict', name: 'boundaries', key: isId, entry: once(BOUNDARY) },
    [Root.shares]: {
      kind: 'dict',
      name: 'shares',
      key: (key) => {
        const parsed = parseDayKey(key);
        return parsed !== null && shareKey(parsed.date, parsed.partnerId as PartnerId) === key;
      },
      // Not set once, as a check-in (SPEC.md 23): two devices of the author may create the day's
      // share at once, and the one Yjs keeps replaces the other, with a mark made on it.
      entry: { value: SHARE, write: Who.owner },
      owner: (key) => parseDayKey(key)?.partnerId ?? null,
    },
    [Root.breaks]: { kind: 'dict', name: 'breaks', key: isId, entry: once(BREAK) },
    [Root.reveals]: { kind: 'dict', name: 'reveals', key: isId, entry: once(REVEAL) },
    [Root.repairs]: { kind: 'dict', name: 'repairs', key: isId, entry: once(REPAIR) },
    [Root.meetings]: {
      kind: 'dict',
      name: 'meetings',
      key: (key) => {
        const parsed = parseDayKey(key);
        return parsed !== null && meetingKey(parsed.date, parsed.partnerId as PartnerId) === key;
      },
      // Not set once, as a share (SPEC.md 23): two devices of the partner may create their part
      // of the week's meeting at once, and the one Yjs keeps replaces the other.
      entry: { value: MEETING_PART, write: Who.owner },
      owner: (key) => parseDayKey(key)?.partnerId ?? null,
    },
    // Written while the space was plaintext and taken in with the genesis, which this table
    // does not judge (docs/protocol.md, "Converting a plaintext space"); after that nobody
    // writes it: the keys it lists have done their work.
    [Root.sealing]: {
      kind: 'dict',
      name: 'sealing keys',
      key: isId,
      entry: { value: leaf(sealingKeysProblem), write: Who.nobody },
    },
    // Never removed or replaced: a device's name stays, with when it was added, after the
    // device leaves the space.
    [Root.devices]: { kind: 'dict', name: 'devices', key: isSealingKey, entry: once(DEVICE) },
  };
}

let rules: Readonly<Record<Root, ContainerSpec>> | undefined;

/**
 * The rules of a top-level type, or null for a name the space does not have. The table is built
 * on first use, so a bundle that never checks an update (the app's first load) leaves it out.
 */
export function rootSpec(name: string): ContainerSpec | null {
  rules ??= spaceRules();
  return Object.hasOwn(rules, name) ? rules[name as Root] : null;
}
