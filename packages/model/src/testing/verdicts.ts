// Test support only (excluded from the build): what both checkers say of one update, for the
// example tests of SPEC.md "Authorship".
import type * as Y from 'yjs';
import { checkRemoteUpdate, type UpdateAuthor } from '../authorship.js';
import { checkRemoteUpdateByReplica } from '../authorshipOracle.js';
import { A } from './fixtures.js';
import { writtenOn, type SealedRun } from './sealedRun.js';

/** A device of partner A that forges: it owns client 100 and holds the sequenced log. */
export const FORGER = 100;
export const asA: UpdateAuthor = { partnerId: A, clientIds: new Set([FORGER]) };

/** The fast verdict (reason or 'accepted') and the oracle's, on the sequenced state. */
export function verdicts(doc: Y.Doc, update: Uint8Array, author: UpdateAuthor) {
  const fast = checkRemoteUpdate(doc, update, author);
  const slow = checkRemoteUpdateByReplica(doc, update, author);
  return { fast: fast.ok ? 'accepted' : fast.reason, slow: slow.ok ? 'accepted' : 'refused' };
}

/** What both checkers say of `fn` written by the forging device of partner A. */
export function forged(run: SealedRun, fn: (doc: Y.Doc) => void) {
  return verdicts(run.sequenced, writtenOn(run.sequenced, FORGER, fn), asA);
}

export const refusedAs = (reason: string) => ({ fast: reason, slow: 'refused' });
export const accepted = { fast: 'accepted', slow: 'accepted' };
