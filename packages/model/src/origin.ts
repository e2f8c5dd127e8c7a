/**
 * Every write the model makes is one `doc.transact(fn, origin)` whose origin is one of these
 * frozen objects. They are singletons, so a `Y.UndoManager` can list them in `trackedOrigins`,
 * and an observer can tell a model write from a remote update (whose origin is the provider).
 */
export const Operation = {
  initSpace: 'initSpace',
  renameSpace: 'renameSpace',
  addPartner: 'addPartner',
  setPartnerRole: 'setPartnerRole',
  setDisplayName: 'setDisplayName',
  markPartnerSeen: 'markPartnerSeen',
  setPresenceSharing: 'setPresenceSharing',
  proposeAgreement: 'proposeAgreement',
  editAgreement: 'editAgreement',
  acceptAgreement: 'acceptAgreement',
  setAgreementLifecycle: 'setAgreementLifecycle',
  logKeep: 'logKeep',
  askQuestion: 'askQuestion',
  answerQuestion: 'answerQuestion',
  addFollowUp: 'addFollowUp',
  closeQuestion: 'closeQuestion',
  reopenQuestion: 'reopenQuestion',
  markQuestionRead: 'markQuestionRead',
  markChangeSeen: 'markChangeSeen',
  checkIn: 'checkIn',
  checkInPrivately: 'checkInPrivately',
  addBoundary: 'addBoundary',
  editBoundary: 'editBoundary',
  acknowledgeBoundary: 'acknowledgeBoundary',
  saveShare: 'saveShare',
  markShareHeard: 'markShareHeard',
  callBreak: 'callBreak',
  endBreak: 'endBreak',
  takeMoreTime: 'takeMoreTime',
  openReveal: 'openReveal',
  submitHiddenAnswer: 'submitHiddenAnswer',
  publishAnswerKey: 'publishAnswerKey',
  addRevealFollowUp: 'addRevealFollowUp',
  startRepair: 'startRepair',
  setRepairNextTime: 'setRepairNextTime',
  repairNextTimeToAgreement: 'repairNextTimeToAgreement',
  completeRepair: 'completeRepair',
  setMeetingDay: 'setMeetingDay',
  startMeeting: 'startMeeting',
  addAppreciation: 'addAppreciation',
  setWentWell: 'setWentWell',
  meetingIssue: 'meetingIssue',
  offerSealingKeys: 'offerSealingKeys',
  nameDevice: 'nameDevice',
  /** Live typing into a `Y.Text` the model handed out (agreement title/body, answer, question). */
  liveEdit: 'liveEdit',
  migrate: 'migrate',
} as const;
export type Operation = (typeof Operation)[keyof typeof Operation];

export interface ModelOrigin<O extends Operation = Operation> {
  readonly source: 'mend-model';
  readonly op: O;
}

export const Origin: { readonly [K in Operation]: ModelOrigin<K> } = Object.freeze(
  Object.fromEntries(
    Object.values(Operation).map((op) => [op, Object.freeze({ source: 'mend-model', op })]),
  ) as { [K in Operation]: ModelOrigin<K> },
);

export function isModelOrigin(value: unknown): value is ModelOrigin {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { source?: unknown }).source === 'mend-model'
  );
}
