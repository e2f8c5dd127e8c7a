// Test support only (excluded from the build): a made-up version 3 of the log's rules, for
// tests of rules statements (docs/protocol.md, "Rules versions").
import { checkRemoteUpdate, listPartners, UpdateRefusal } from '@mend/model';
import * as Y from 'yjs';
import type { RulesBook } from '../rulesBook.js';
import { SealedReplica } from '../SealedReplica.js';
import type { Device, Space } from './sealedSpace.js';

/** Versions 1 and 2, and from version 3 on no partner may be named anything starting "Forbidden". */
export const newerRules: RulesBook = {
  latest: 3,
  tightened: 3,
  judge(version, log, update, author) {
    const verdict = checkRemoteUpdate(log, update, author);
    if (!verdict.ok || version < 3) return verdict;
    const probe = new Y.Doc();
    Y.applyUpdate(probe, Y.encodeStateAsUpdate(log));
    Y.applyUpdate(probe, update);
    const forbidden = listPartners(probe).some((p) => p.displayName.startsWith('Forbidden'));
    return forbidden
      ? { ok: false, reason: UpdateRefusal.schema, detail: 'version 3 forbids the name' }
      : verdict;
  },
};

/**
 * `older` (a device that stopped at a version it did not know) opened by a newer Mend: its
 * stored state restored into a replica that knows `newerRules`, over a copy of its document,
 * and the rest of the log taken in from where it stopped.
 */
export function updatedMend(space: Space, older: Device): { replica: SealedReplica; doc: Y.Doc } {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(older.doc));
  const replica = SealedReplica.restore(
    {
      doc,
      keyring: older.keyring,
      creator: space.creator.signing.publicKey,
      identity: older.identity,
      rules: newerRules,
    },
    older.replica.exportState(),
  );
  for (let seq = replica.since + 1; seq <= space.log.entries.length; seq++) {
    replica.receive(seq, space.log.entries[seq - 1]!);
  }
  return { replica, doc };
}
