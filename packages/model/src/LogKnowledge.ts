import * as Y from 'yjs';
import { structsOf, WriterKnowledge } from './WriterKnowledge.js';

/**
 * What each client's writer had when it wrote its last item in a log document, kept between
 * checks so that an edit concurrent with the partner's does not walk the whole document again
 * (about 14 ms a time in the five-year space; docs/benchmarks.md). A client's knowledge only grows
 * with its clock, so the next check starts from the last one and walks only what is new.
 *
 * The same on every device: it is read only from the log document's structs, and equals what a
 * walk from scratch would find in that document now. One thing could make them differ: a struct
 * that said what it named becoming garbage (a GC struct names nothing). That happens only to the
 * items of a type that is deleted, so a transaction deleting a type forgets the log's knowledge.
 */
const knowledgeOf = new WeakMap<Y.Doc, Map<number, WriterKnowledge>>();

/** What `client` had when it wrote its last item in `log`, or null for a client it lacks. */
export function logKnowledge(log: Y.Doc, client: number): WriterKnowledge | null {
  const last = Y.getState(log.store, client) - 1;
  if (last < 0) return null;
  let byClient = knowledgeOf.get(log);
  if (!byClient) {
    byClient = new Map();
    knowledgeOf.set(log, byClient);
    log.on('afterTransaction', forgetOnTypeDeleted);
  }
  let known = byClient.get(client);
  if (!known) {
    known = new WriterKnowledge(structsOf(log));
    byClient.set(client, known);
  }
  known.learnClosed(Y.createID(client, last));
  return known;
}

function forgetOnTypeDeleted(transaction: Y.Transaction, log: Y.Doc): void {
  let typeDeleted = false;
  Y.iterateDeletedStructs(transaction, transaction.deleteSet, (struct) => {
    if (struct instanceof Y.Item && struct.content instanceof Y.ContentType) typeDeleted = true;
  });
  if (!typeDeleted) return;
  knowledgeOf.delete(log);
  log.off('afterTransaction', forgetOnTypeDeleted);
}
