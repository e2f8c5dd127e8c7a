// Scenario 3, sealed: a fresh device opens the five-year space from a sealed log after a restart
// of Mend: one snapshot envelope (the whole space, as a device's compaction writes it) and a tail
// of keystroke envelopes after it. The device downloads, verifies, decrypts and checks every
// envelope and applies it (SealedReplica). The peers serve the same document's plaintext.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as model from '@mend/model';
import { REMOTE } from '@mend/sealed';
import * as Y from 'yjs';
import { sleep, withTimeout } from '../lib/clients.mjs';
import { hasState, identical, until } from '../lib/docs.mjs';
import { buildFiveYears } from '../lib/fiveYears.mjs';
import { createSealedClient } from '../lib/sealedClient.mjs';
import { provisionSealedCouples } from '../lib/sealedSpaces.mjs';
import { measureSealedStorage } from '../lib/sqlite.mjs';
import { round } from '../lib/stats.mjs';
import { scratchDir, startTarget } from '../lib/targets.mjs';

/**
 * Envelopes after the snapshot. Devices compact every 300 envelopes (docs/protocol.md), so a
 * device arriving at a random moment finds 150 on average.
 */
export const TAIL_ENVELOPES = 150;

/**
 * Partner A's device, holding five years of the space, seals it as a snapshot covering the log
 * so far (the seats: both member statements and both partners' first writes); then both
 * partners type TAIL_ENVELOPES keystrokes into their latest agreement, one envelope each,
 * partner A's device having opened the space again from its snapshot.
 */
export async function prepareSealedFiveYearSpace({ tail = TAIL_ENVELOPES } = {}) {
  const dataDir = scratchDir('mend-sealed-five-years');
  const mend = await startTarget('mend-sealed', { dataDir });
  const started = performance.now();
  let a;
  let b;
  let couple;
  let built;
  let snapshotBytes;
  try {
    [couple] = await provisionSealedCouples(mend, 1);
    a = createSealedClient(mend, couple.devices[0]);
    await withTimeout(a.ready(), 30_000, 'sealed first sync');
    built = buildFiveYears({ base: Y.encodeStateAsUpdate(a.doc) });
    // The device already holds what the snapshot covers: applied as if it had come from the log.
    Y.applyUpdate(a.doc, built.update, REMOTE);
    snapshotBytes = await a.snapshot(Y.encodeStateAsUpdate(a.doc));
    // Its replica's log never took in the five years (they were applied to its document only),
    // and a replica judges the partner's updates by its log: the device opens the space again
    // from the snapshot, as a fresh one would, before anyone types.
    a.destroy();
    a = createSealedClient(mend, couple.devices[0]);
    await withTimeout(a.ready(), 120_000, 'sealed five years back to its author');
    b = createSealedClient(mend, couple.devices[1]);
    await withTimeout(b.ready(), 120_000, 'sealed five years to the partner');
    const agreement = model.listAgreements(a.doc).at(-1).id;
    for (let i = 0; i < tail; i++) {
      const doc = (i % 2 === 0 ? a : b).doc;
      const body = model.agreementTexts(doc, agreement).body;
      doc.transact(() => body.insert(Math.floor(body.length / 2), 'abcdefghij'[i % 10]));
      // Typing, not a paste: the partner's keystrokes arrive in between.
      if (i % 10 === 9) await sleep(20);
    }
    await withTimeout(Promise.all([a.settled(), b.settled()]), 60_000, 'tail acknowledged');
    await withTimeout(
      until([a.doc, b.doc], () => identical(a.doc, b.doc)),
      60_000,
      'tail',
    );
    const aside = [...a.setAside, ...b.setAside];
    if (aside.length > 0) throw new Error(`set aside while writing: ${aside[0].detail}`);
  } finally {
    a?.destroy();
    b?.destroy();
    await mend.stop();
  }
  const buildMs = performance.now() - started;

  const encodedState = Y.encodeStateAsUpdate(b.doc);
  const preloadFile = path.join(scratchDir('sealed-five-years'), 'five-years.bin');
  writeFileSync(preloadFile, encodedState);
  const stateVector = Y.encodeStateVector(b.doc);
  return {
    dataDir,
    room: couple.room,
    // The fresh device is partner B's (a second device of one seat needs issue 13's links).
    device: couple.devices[1],
    stateVector,
    // What the peers serve: the same document, in plaintext.
    plain: { preloadFile, stateVector, update: encodedState },
    report: {
      counts: built.counts,
      tailEnvelopes: tail,
      encodedStateBytes: encodedState.byteLength,
      snapshotEnvelopeBytes: snapshotBytes,
      buildAndStoreMs: round(buildMs, 0),
      storage: measureSealedStorage(dataDir, couple.room),
    },
  };
}

/** One round: restart Mend on the sealed space, open it on a fresh device, then reopen it. */
export async function sealedColdLoadRound(space) {
  const target = await startTarget('mend-sealed', { dataDir: space.dataDir });
  let client;
  try {
    const doc = new Y.Doc();
    const started = performance.now();
    client = createSealedClient(target, space.device, { doc });
    await withTimeout(client.ready(), 60_000, 'sealed cold sync');
    const syncedMs = performance.now() - started;
    await withTimeout(
      until([doc], () => hasState(doc, space.stateVector)),
      60_000,
      'complete sealed document',
    );
    const completeMs = performance.now() - started;
    const serverRssBytes = target.memory().rss;
    const bytesReceived = client.counter.bytesIn;
    const messagesReceived = client.counter.messagesIn;
    // The device's own part of the load: every envelope taken in (verify, chain, decrypt,
    // check, apply), and the snapshot's share of it.
    const deviceWork = {
      takeMs: round(client.work.takeMs, 1),
      snapshotTakeMs: round(client.work.snapshotTakeMs, 1),
      takeCpuMs: round(client.work.takeCpuMs, 1),
      snapshotTakeCpuMs: round(client.work.snapshotTakeCpuMs, 1),
      envelopes: client.work.takes,
    };

    // The same device opens the space again (every app start): it holds the document and the
    // last seq it took in, so its hello asks only for what came after.
    await client.disconnect();
    await sleep(500);
    const cpuBefore = target.cpu();
    const bytesBefore = client.counter.bytesIn;
    const reopened = performance.now();
    client.connect();
    await withTimeout(client.ready(), 60_000, 'sealed reopen');
    const reopenSyncedMs = performance.now() - reopened;
    await sleep(1500);
    return {
      target: 'mend-sealed',
      syncedMs: round(syncedMs, 1),
      completeMs: round(completeMs, 1),
      bytesReceived,
      messagesReceived,
      setAside: client.setAside.length,
      deviceWork,
      serverRssBytes,
      reopenSyncedMs: round(reopenSyncedMs, 1),
      reopenServerCpuMs: round((target.cpu() - cpuBefore) * 1000, 0),
      reopenBytesReceived: client.counter.bytesIn - bytesBefore,
    };
  } finally {
    client?.destroy();
    await target.stop();
  }
}
