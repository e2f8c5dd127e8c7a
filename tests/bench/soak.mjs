// A long steady load on one Mend server: N couples, each partner typing one edit a second, for
// a given time. Every sample period (a minute by default) it reads the server's resident memory
// from /proc and the edit-to-partner latency of that period, and at the end says whether memory
// levelled off. 127.0.0.1 only; bounded by --minutes.
//
// The documents grow all the time (every edit is kept), so RSS must grow with them: what has to
// level off is the rest, RSS minus the document bytes the partners' devices hold (encoded) times
// the heap a live Y.Doc takes per encoded byte (12 measured for this load's documents).
//
//   node tests/bench/soak.mjs                        # 200 couples for 30 minutes
//   node tests/bench/soak.mjs --couples 200 --minutes 7
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as Y from 'yjs';
import { createClient, pool, sleep, withTimeout } from './lib/clients.mjs';
import { prng } from '../support/prng.mjs';
import { runPinned } from './lib/pinned.mjs';
import { round, summarize } from './lib/stats.mjs';
import { provisionCouples, repoRoot, scratchRootDir, startTarget } from './lib/targets.mjs';

/** Memory beyond the documents counts as levelled off when it grows less than this a minute. */
const LEVEL_MB_PER_MINUTE = 1;
/**
 * Heap of a live Y.Doc per encoded byte for these documents: measured by loading the 200 stored
 * spaces of a 7-minute run into Y.Docs (69 MB of heap for 5.8 MB encoded).
 */
const LIVE_BYTES_PER_ENCODED_BYTE = 12;
const WORDS = ['listen', 'honest', 'gently', 'pause', 'truth', 'tonight', 'together', 'ask'];
const MARKER = /#(\d+\.\d+):(\d+);/g;

async function main() {
  const { values } = parseArgs({
    options: {
      couples: { type: 'string', default: '200' },
      minutes: { type: 'string', default: '30' },
      'sample-seconds': { type: 'string', default: '60' },
      seed: { type: 'string', default: '10' },
    },
  });
  const couplesWanted = positive(values.couples, 'couples');
  const minutes = positive(values.minutes, 'minutes');
  const sampleMs = positive(values['sample-seconds'], 'sample-seconds') * 1000;
  const random = prng(Number(values.seed));

  // The server serves /metrics only on a loopback port of its own; the soak reads compactions there.
  process.env.MEND_METRICS_PORT ??= String(await freePort());
  const target = await startTarget('mend');
  const clients = [];
  const people = [];
  try {
    const couples = await provisionCouples(target, couplesWanted);
    await pool(couples, 50, async (couple, index) => {
      const pair = couple.tokens.map((token) => createClient(target, couple.room, { token }));
      clients.push(...pair);
      await withTimeout(Promise.all(pair.map((c) => c.ready())), 60_000, 'a couple to sync');
      const [a, b] = pair.map((client, side) => new Person(client, `${index}.${side}`, random));
      a.partner = b;
      b.partner = a;
      people.push(a, b);
    });
    for (const person of people) person.listen();
    await sleep(1000);
    const baseline = target.memory().rss;
    console.log(
      `${couplesWanted} couples connected; baseline RSS ${round(mb(baseline), 1)} MB; ` +
        `editing for ${minutes} min, one edit a second per partner`,
    );

    for (const person of people) person.start();
    const started = performance.now();
    const samples = [];
    let compactionsBefore = await compactions();
    while (performance.now() - started < minutes * 60_000) {
      await sleep(Math.min(sampleMs, minutes * 60_000 - (performance.now() - started)));
      const latency = summarize(people.flatMap((person) => person.samples.splice(0)));
      const compactionsNow = await compactions();
      const rss = target.memory().rss;
      const documents = people
        .filter((_, i) => i % 2 === 0)
        .reduce((sum, person) => sum + Y.encodeStateAsUpdate(person.client.doc).byteLength, 0);
      const sample = {
        minute: round((performance.now() - started) / 60_000, 1),
        rssMB: round(mb(rss), 1),
        documentsMB: round(mb(documents), 2),
        beyondDocumentsMB: round(mb(rss - documents * LIVE_BYTES_PER_ENCODED_BYTE), 1),
        edits: latency.count,
        p50Ms: round(latency.p50, 1),
        p99Ms: round(latency.p99, 1),
        maxMs: round(latency.max, 1),
        compactions:
          compactionsNow === null || compactionsBefore === null
            ? null
            : compactionsNow - compactionsBefore,
      };
      compactionsBefore = compactionsNow;
      samples.push(sample);
      console.log(JSON.stringify(sample));
    }
    for (const person of people) person.stop();

    const secondHalf = samples.slice(Math.floor(samples.length / 2));
    const slope = slopePerMinute(secondHalf, 'beyondDocumentsMB');
    const first = samples[0];
    const last = samples.at(-1);
    const verdict = {
      couples: couplesWanted,
      minutes,
      baselineRssMB: round(mb(baseline), 1),
      firstRssMB: first?.rssMB ?? null,
      lastRssMB: last?.rssMB ?? null,
      peakRssMB: round(mb(target.memory().hwm), 1),
      secondHalfRssSlopeMBPerMinute: round(slopePerMinute(secondHalf, 'rssMB'), 2),
      secondHalfSlopeBeyondDocumentsMBPerMinute: round(slope, 2),
      levelledOff: Number.isFinite(slope) && slope < LEVEL_MB_PER_MINUTE,
      worstP99Ms: Math.max(...samples.map((s) => s.p99Ms ?? 0)),
      worstMaxMs: Math.max(...samples.map((s) => s.maxMs ?? 0)),
    };
    console.log(
      `RSS ${verdict.firstRssMB} MB after the first sample, ${verdict.lastRssMB} MB at the end ` +
        `(peak ${verdict.peakRssMB} MB); over the second half RSS grew ` +
        `${verdict.secondHalfRssSlopeMBPerMinute} MB/min, beyond the documents ` +
        `${verdict.secondHalfSlopeBeyondDocumentsMBPerMinute} MB/min: ` +
        (!Number.isFinite(slope)
          ? 'too few samples to tell'
          : verdict.levelledOff
            ? 'levelled off'
            : 'still growing'),
    );
    const file = path.join(
      repoRoot,
      'tests/bench/results',
      `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
    writeFileSync(file, `${JSON.stringify({ verdict, samples }, null, 2)}\n`);
    console.log(`raw samples: ${path.relative(repoRoot, file)}`);
  } finally {
    for (const person of people) person.stop();
    for (const client of clients) client.destroy();
    await target.stop();
    const scratch = scratchRootDir();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** One partner typing: a marked insert a second, at a random place in the couple's notes. */
class Person {
  constructor(client, name, random) {
    this.client = client;
    this.name = name;
    this.random = random;
    this.text = client.doc.getText('soak-notes');
    this.sent = new Map();
    this.seq = 0;
    this.samples = [];
    this.partner = null;
    this.timer = null;
  }

  start() {
    // Spread over the second so the couples do not all type in step.
    this.timer = setTimeout(() => {
      this.timer = setInterval(() => this.edit(), 1000);
      this.edit();
    }, this.random() * 1000);
  }

  stop() {
    clearTimeout(this.timer);
    clearInterval(this.timer);
  }

  edit() {
    const seq = ++this.seq;
    this.sent.set(seq, performance.now());
    const word = WORDS[seq % WORDS.length];
    this.text.insert(
      Math.floor(this.random() * (this.text.length + 1)),
      ` ${word} #${this.name}:${seq};`,
    );
  }

  /** Turns the partner's edits arriving here into latencies. */
  listen() {
    this.text.observe((event, transaction) => {
      if (transaction.local) return;
      const now = performance.now();
      for (const part of event.delta) {
        if (typeof part.insert !== 'string') continue;
        for (const match of part.insert.matchAll(MARKER)) {
          if (match[1] !== this.partner.name) continue;
          const seq = Number(match[2]);
          const sentAt = this.partner.sent.get(seq);
          if (sentAt === undefined) continue;
          this.samples.push(now - sentAt);
          this.partner.sent.delete(seq);
        }
      }
    });
  }
}

/** A TCP port free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Compactions so far, from the server's metrics listener (MEND_METRICS_PORT). Null on failure. */
async function compactions() {
  const url = `http://127.0.0.1:${process.env.MEND_METRICS_PORT}/metrics`;
  try {
    const response = await fetch(url);
    if (!response.ok) return null;
    const line = (await response.text())
      .split('\n')
      .find((l) => l.startsWith('mend_compactions_total '));
    return line ? Number(line.split(' ')[1]) : null;
  } catch {
    return null;
  }
}

/** Least-squares slope of a sample's `key` (MB) over minutes. */
function slopePerMinute(samples, key) {
  if (samples.length < 2) return NaN;
  const n = samples.length;
  const mx = samples.reduce((sum, s) => sum + s.minute, 0) / n;
  const my = samples.reduce((sum, s) => sum + s[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.minute - mx) * (s[key] - my);
    den += (s.minute - mx) ** 2;
  }
  return num / den;
}

function positive(value, name) {
  const number = Number(value);
  if (!(number > 0)) throw new Error(`--${name} must be a positive number`);
  return number;
}

const mb = (bytes) => bytes / 2 ** 20;

// Last, once the classes above are initialised.
await runPinned(import.meta.url, main);
