// Scenario 3: a fresh device opens a five-year space. Mend reads it from disk after a restart;
// the peers serve it from memory (preloaded before they listen).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as Y from 'yjs';
import { createClient, sleep, withTimeout } from '../lib/clients.mjs';
import { hasState, until } from '../lib/docs.mjs';
import { buildFiveYears, sendWeekly } from '../lib/fiveYears.mjs';
import { compactWithMend, measureStorage, vacuumedBytes } from '../lib/sqlite.mjs';
import { round } from '../lib/stats.mjs';
import { cloneDir, provisionCouples, scratchDir, startTarget } from '../lib/targets.mjs';

export const PRELOAD_ROOM = 'five-years';

/**
 * @param {string} name
 * @param {{ stateVector: Uint8Array, mend: { dataDir: string, room: string, token: string }, preloadFile: string }} space
 */
export async function coldLoadRound(name, space) {
  const target =
    name === 'mend' || name === 'mend-log'
      ? await startTarget('mend', {
          dataDir: name === 'mend' ? space.mend.dataDir : space.mend.logDir,
        })
      : await startTarget(name, { preloadFile: space.preloadFile, preloadRoom: PRELOAD_ROOM });
  let client;
  try {
    const isMend = target.name === 'mend';
    const room = isMend ? space.mend.room : PRELOAD_ROOM;
    const doc = new Y.Doc();
    const started = performance.now();
    client = createClient(target, room, { token: isMend ? space.mend.token : null, doc });
    await withTimeout(client.ready(), 60_000, 'cold sync');
    const syncedMs = performance.now() - started;
    await withTimeout(
      until([doc], () => hasState(doc, space.stateVector)),
      60_000,
      'complete document',
    );
    const completeMs = performance.now() - started;
    const serverRssBytes = target.memory().rss;
    const bytesReceived = client.counter.bytesIn;
    const messagesReceived = client.counter.messagesIn;
    client.destroy();
    client = null;

    // Then a device that already holds the whole space opens it again (every app start): its
    // sync step 2 carries its full delete set even when it has nothing new.
    const held = new Y.Doc();
    Y.applyUpdate(held, space.update);
    await sleep(500);
    const cpuBefore = target.cpu();
    const reopened = performance.now();
    client = createClient(target, room, { token: isMend ? space.mend.token : null, doc: held });
    await withTimeout(client.ready(), 60_000, 'reopen');
    const reopenSyncedMs = performance.now() - reopened;
    // Whatever the server does with that step 2 happens after the client counts as synced.
    await sleep(1500);
    return {
      target: name,
      syncedMs: round(syncedMs, 1),
      completeMs: round(completeMs, 1),
      bytesReceived,
      messagesReceived,
      serverRssBytes,
      reopenSyncedMs: round(reopenSyncedMs, 1),
      reopenServerCpuMs: round((target.cpu() - cpuBefore) * 1000, 0),
      reopenBytesReceived: client.counter.bytesIn,
    };
  } finally {
    client?.destroy();
    await target.stop();
  }
}

/**
 * Stores a five-year space in Mend the way a device would: partner A's client sends the history
 * as weekly updates over its socket. Then measures Mend's storage (scenario 5) before and after
 * Mend's own compaction, and keeps both data directories for cold loads.
 */
export async function prepareFiveYearSpace() {
  const dataDir = scratchDir('mend-five-years');
  const mend = await startTarget('mend', { dataDir });
  let a;
  let b;
  let built;
  let couple;
  let full;
  const buildStarted = performance.now();
  try {
    [couple] = await provisionCouples(mend, 1);
    a = createClient(mend, couple.room, { token: couple.tokens[0] });
    await withTimeout(a.ready(), 30_000, 'first sync');
    built = buildFiveYears({ base: Y.encodeStateAsUpdate(a.doc) });
    await sendWeekly(a.doc, built.weekly);
    full = Y.encodeStateAsUpdate(a.doc);
    const stateVector = Y.encodeStateVector(a.doc);
    // Stored once a fresh device gets all of it from the server (persist-before-relay).
    b = createClient(mend, couple.room, { token: couple.tokens[1] });
    await withTimeout(b.ready(), 60_000, 'second device sync');
    await withTimeout(
      until([b.doc], () => hasState(b.doc, stateVector)),
      60_000,
      'stored five years',
    );
  } finally {
    a?.destroy();
    b?.destroy();
    await mend.stop();
  }
  const buildMs = performance.now() - buildStarted;

  const logDir = cloneDir(dataDir);
  const before = measureStorage(dataDir, couple.room);
  await compactWithMend(dataDir, couple.room);
  const after = measureStorage(dataDir, couple.room);
  const vacuumed = vacuumedBytes(cloneDir(dataDir));

  // The encoded state: what one Y.Doc holding the space writes as a single update.
  const doc = new Y.Doc();
  Y.applyUpdate(doc, full);
  const encodedState = Y.encodeStateAsUpdate(doc);
  const preloadFile = path.join(scratchDir('five-years'), 'five-years.bin');
  writeFileSync(preloadFile, encodedState);

  return {
    stateVector: Y.encodeStateVector(doc),
    update: encodedState,
    preloadFile,
    mend: { dataDir, logDir, room: couple.room, token: couple.tokens[1] },
    report: {
      counts: built.counts,
      weeklyUpdates: built.weekly.length,
      weeklyUpdateBytes: built.weekly.reduce((n, u) => n + u.byteLength, 0),
      encodedStateBytes: encodedState.byteLength,
      buildAndStoreMs: round(buildMs, 0),
      storage: {
        beforeCompaction: before,
        afterCompaction: after,
        afterCompactionAndVacuumFileBytes: vacuumed,
      },
    },
  };
}
