import type {
  AgreementLifecycle,
  AgreementStatus,
  BreakStatus,
  CheckinState,
  KeepValue,
  QuestionStatus,
  Role,
} from '@mend/model';

export const stateLabel: Record<CheckinState, string> = {
  calm: 'Calm',
  alert: 'On alert',
  fight: 'Ready to fight',
  flight: 'Wanting to get away',
  freeze: 'Frozen or numb',
};

export const stateHint: Record<CheckinState, string> = {
  calm: 'settled, able to talk',
  alert: 'watchful, tense',
  fight: 'angry, wanting to push back',
  flight: 'wanting distance',
  freeze: 'shut down, hard to feel or speak',
};

export const keepLabel: Record<KeepValue, string> = {
  kept: 'Kept',
  missed: 'Missed',
  'not-applicable': 'Did not come up',
};

/** The buttons a partner logs their own day with: they say whose keeping it is. */
export const myKeepLabel: Record<KeepValue, string> = {
  kept: 'I kept it',
  missed: 'I missed it',
  'not-applicable': 'It did not come up for me',
};

export const agreementStatusLabel: Record<AgreementStatus, string> = {
  proposed: 'Proposed',
  active: 'Agreed',
  changed: 'Changed since you accepted',
  paused: 'Paused',
  retired: 'Retired',
};

/**
 * An agreement's status as `me` reads it: a change `me` made is their proposal, not something
 * that "changed since you accepted".
 */
export function agreementStatusFor(
  agreement: { status: AgreementStatus; lastEditedBy: string | null },
  me: string,
): string {
  return agreement.status === 'changed' && agreement.lastEditedBy === me
    ? 'Change proposed'
    : agreementStatusLabel[agreement.status];
}

/** A status as a third person reads it (the export goes to a therapist): no "you". */
export const agreementStatusForReaders: Record<AgreementStatus, string> = {
  proposed: 'Proposed, not yet accepted by both',
  active: 'Agreed by both',
  changed: 'Agreed; a change to it is not yet accepted by both',
  paused: 'Paused',
  retired: 'Retired',
};

/** What a partner did, for "Sam retired …" on the other partner's Today. */
export const lifecycleVerb: Record<AgreementLifecycle, string> = {
  open: 'resumed',
  paused: 'paused',
  retired: 'retired',
};

/** The badge style for each status: a changed wording asks to be read, an agreed one is calm. */
export const agreementStatusBadge: Record<AgreementStatus, string> = {
  proposed: '',
  active: 'accent',
  changed: 'warn',
  paused: '',
  retired: '',
};

/** An agreement's title as shown, also while its title is still empty. */
/**
 * An agreement's name where it is listed, logged or exported: the title both accepted while a
 * change to it is only proposed (the agreement page shows the proposal beside it).
 */
export function agreementTitle(agreement: {
  readonly title: string;
  readonly inForce?: { readonly title: string } | null;
}): string {
  return (agreement.inForce?.title ?? agreement.title) || 'Untitled agreement';
}

export const questionStatusLabel: Record<QuestionStatus, string> = {
  open: 'Waiting for an answer',
  answered: 'Answered',
  'needs-follow-up': 'Follow-up waiting',
  closed: 'Closed',
};

export const roleLabel: Record<Role, string> = {
  hurt: 'the one who was hurt',
  repairing: 'the one repairing',
};

/** How a break ended, as a third person reads it (the export, Progress tables). */
export const breakStatusForReaders: Record<BreakStatus, string> = {
  open: 'Not back yet',
  returned: 'Came back at or after the time named',
  'ended-early': 'Came back before the time named',
  replaced: 'Not ended; a later break followed',
};
