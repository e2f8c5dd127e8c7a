// Test support only (excluded from the build): a made-up version 2 of the model's rules, for
// tests of rules statements (docs/protocol.md, "Rules versions").
import { checkRemoteUpdate, listPartners, UpdateRefusal } from '@mend/model';
import * as Y from 'yjs';
import type { RulesBook } from '../rulesBook.js';

/** Version 1, and from version 2 on no partner may be named anything starting "Forbidden". */
export const newerRules: RulesBook = {
  latest: 2,
  judge(version, log, update, author) {
    const verdict = checkRemoteUpdate(log, update, author);
    if (!verdict.ok || version < 2) return verdict;
    const probe = new Y.Doc();
    Y.applyUpdate(probe, Y.encodeStateAsUpdate(log));
    Y.applyUpdate(probe, update);
    const forbidden = listPartners(probe).some((p) => p.displayName.startsWith('Forbidden'));
    return forbidden
      ? { ok: false, reason: UpdateRefusal.schema, detail: 'version 2 forbids the name' }
      : verdict;
  },
};
