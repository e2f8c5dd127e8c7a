import {
  checkRemoteUpdate,
  RULES_VERSION,
  type UpdateAuthor,
  type UpdateVerdict,
} from '@mend/model';
import type * as Y from 'yjs';

/**
 * The versions of the model's rules a device knows (docs/protocol.md, "Rules versions"): every
 * version from 1 to `latest`, each judging an update against the sequenced log as that version
 * did. A replica judges every update by the version the log stood at when it was sequenced, and
 * stops at a version past `latest` rather than judge by rules it lacks.
 */
export interface RulesBook {
  readonly latest: number;
  judge(version: number, log: Y.Doc, update: Uint8Array, author: UpdateAuthor): UpdateVerdict;
}

/** The rules of this build of `@mend/model`: version 1 is the only one so far. */
export const modelRules: RulesBook = {
  latest: RULES_VERSION,
  judge: (_version, log, update, author) => checkRemoteUpdate(log, update, author),
};
