import type { SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import { ProtocolViolation } from './sync/ProtocolViolation.js';
import { checkUpdate, type KnownClock } from './sync/updateValidation.js';
import type { StorageAdapter } from './storage/StorageAdapter.js';

export interface DroppedUpdate {
  seq: number;
  bytes: number;
  /** Why it had to go, in a few words. */
  reason: string;
}

export type RepairReport =
  | { outcome: 'healthy'; updates: number }
  | { outcome: 'repaired'; kept: number; dropped: DroppedUpdate[]; snapshotBytes: number }
  /** The snapshot itself cannot be loaded: nothing was changed (see `detail`). */
  | { outcome: 'unreadable-snapshot'; snapshotBytes: number; detail: string };

/**
 * Repairs a space's stored document, as an older version may have left it: replays the
 * snapshot and the updates in order into a fresh document, keeping each update only if the
 * server would accept it today (updateValidation) and Yjs applies it cleanly, then checks that
 * the result loads in yet another fresh document. If anything was dropped, the result is written
 * back as a snapshot replacing every update it covered (updates appended meanwhile are kept).
 * A snapshot that cannot be loaded is reported and left alone: nothing replaces it silently.
 */
export async function repairSpaceLog(
  storage: StorageAdapter,
  spaceId: SpaceId,
  /** The server's check of each update (tests pass a weaker one to reach the slow path). */
  check: (update: Uint8Array, known: KnownClock) => void = checkUpdate,
): Promise<RepairReport> {
  const stored = await storage.loadDoc(spaceId);
  const snapshotProblem = stored.snapshot ? loadProblem([stored.snapshot]) : null;
  if (stored.snapshot && snapshotProblem) {
    return {
      outcome: 'unreadable-snapshot',
      snapshotBytes: stored.snapshot.byteLength,
      detail: snapshotProblem,
    };
  }
  const kept: Uint8Array[] = stored.snapshot ? [stored.snapshot] : [];
  const dropped: DroppedUpdate[] = [];
  let doc = docFrom(kept);
  for (const { seq, data } of stored.updates) {
    const reason = applyProblem(doc, data, check);
    if (reason === null) {
      kept.push(data);
      continue;
    }
    dropped.push({ seq, bytes: data.byteLength, reason });
    // Yjs may have applied part of it before it threw: start again from what is kept.
    doc.destroy();
    doc = docFrom(kept);
  }
  // The checks above are what the server enforces today; should a poison slip past them, find
  // it the slow way, by loading the state after each update.
  if (loadProblem([Y.encodeStateAsUpdate(doc)]) !== null) {
    doc.destroy();
    doc = replayLoadingEach(stored.snapshot, stored.updates, dropped, check);
  }
  const last = stored.updates.at(-1);
  if (dropped.length === 0 || !last) {
    doc.destroy();
    return { outcome: 'healthy', updates: stored.updates.length };
  }
  const snapshot = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  await storage.replaceWithSnapshot(spaceId, snapshot, last.seq);
  dropped.sort((a, b) => a.seq - b.seq);
  return {
    outcome: 'repaired',
    kept: stored.updates.length - dropped.length,
    dropped,
    snapshotBytes: snapshot.byteLength,
  };
}

/** Why `update` cannot join `doc` (which it then may hold in part), or null once it has. */
function applyProblem(
  doc: Y.Doc,
  update: Uint8Array,
  check: (update: Uint8Array, known: KnownClock) => void,
): string | null {
  try {
    check(update, (client) => Y.getState(doc.store, client));
  } catch (error) {
    return error instanceof ProtocolViolation ? error.message : 'not a valid Yjs update';
  }
  try {
    Y.applyUpdate(doc, update);
  } catch (error) {
    return `Yjs could not apply it (${(error as Error).message})`;
  }
  if (doc.store.pendingStructs || doc.store.pendingDs) return 'it depends on missing changes';
  return null;
}

/** Why these updates, applied in turn to a fresh document, do not load cleanly, or null. */
function loadProblem(updates: Uint8Array[]): string | null {
  const doc = new Y.Doc();
  try {
    for (const update of updates) Y.applyUpdate(doc, update);
    if (doc.store.pendingStructs || doc.store.pendingDs) return 'it depends on missing changes';
    const again = new Y.Doc();
    try {
      Y.applyUpdate(again, Y.encodeStateAsUpdate(doc));
      if (again.store.pendingStructs || again.store.pendingDs) return 'it does not load again';
    } finally {
      again.destroy();
    }
    return null;
  } catch (error) {
    return `Yjs could not load it (${(error as Error).message})`;
  } finally {
    doc.destroy();
  }
}

function docFrom(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc;
}

/**
 * Keeps an update only if the whole state after it loads in a fresh document. Costs a full
 * encode and load per update, so it runs only when the quick replay was not enough; adds what
 * it drops to `dropped`.
 */
function replayLoadingEach(
  snapshot: Uint8Array | null,
  updates: { seq: number; data: Uint8Array }[],
  dropped: DroppedUpdate[],
  check: (update: Uint8Array, known: KnownClock) => void,
): Y.Doc {
  const droppedSeqs = new Set(dropped.map((d) => d.seq));
  let state = snapshot ?? Y.encodeStateAsUpdate(new Y.Doc());
  for (const { seq, data } of updates) {
    if (droppedSeqs.has(seq)) continue;
    const doc = new Y.Doc();
    let problem: string | null;
    try {
      Y.applyUpdate(doc, state);
      problem = applyProblem(doc, data, check) ?? loadProblem([Y.encodeStateAsUpdate(doc)]);
      if (problem === null) state = Y.encodeStateAsUpdate(doc);
    } finally {
      doc.destroy();
    }
    if (problem !== null) dropped.push({ seq, bytes: data.byteLength, reason: problem });
  }
  return docFrom([state]);
}
