import { checkRemoteUpdate, type UpdateAuthor, type UpdateVerdict } from '@mend/model';
import type * as Y from 'yjs';

/**
 * The versions of the log's rules a device knows (docs/protocol.md, "Rules versions"): every
 * version from 1 to `latest`, each judging an update against the sequenced log as that version
 * did. A replica judges every update (and every keys statement, epochRules.ts) by the version the
 * log stood at when it was sequenced, and stops at a version past `latest` rather than judge by
 * rules it lacks.
 */
export interface RulesBook {
  readonly latest: number;
  /**
   * The newest version that refuses something a version before it accepted: a device that
   * knows a newer one than the log stands at states it by itself once it has caught up, so the
   * rules close that way on every device. A version that only accepts more (2: a device may
   * leave) is stated by the device that needs it, just before (`leaveWithNewKey`): until then no
   * older device need stop at it.
   */
  readonly tightened: number;
  judge(version: number, log: Y.Doc, update: Uint8Array, author: UpdateAuthor): UpdateVerdict;
}

/**
 * From this version of the log's rules on, an epoch statement may remove its own author: a
 * device leaving the space (docs/protocol.md, "Leaving a space"). Before it, every device refuses
 * one, so a device that does not know it pauses at the statement of this version rather than
 * take the leave in differently from the others.
 */
export const LEAVING_RULES = 2;

/**
 * The rules of this build. Version 2 changed no rule of the model's: updates are judged by
 * `checkRemoteUpdate` at both versions (the model's `RULES_VERSION`, 1); it lets a device leave.
 * A release that raises `RULES_VERSION` adds version 3 here and keeps these verdicts for 1 and 2.
 */
export const modelRules: RulesBook = {
  latest: LEAVING_RULES,
  tightened: 1,
  judge: (_version, log, update, author) => checkRemoteUpdate(log, update, author),
};
