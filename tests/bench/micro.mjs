// The per-edit building blocks of a persist-before-relay server, timed in isolation, so the
// report can say what an edit costs before sockets are involved:
//   node tests/bench/micro.mjs
// Yjs: decoding an update fully (validation), applying it, applying with the re-encoded update
// event. SQLite (better-sqlite3, WAL): one insert and commit with synchronous=FULL (an fsync per
// commit) and with synchronous=NORMAL (no fsync until checkpoint).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as Y from 'yjs';
import { repoRoot } from './lib/targets.mjs';

const Database = createRequire(path.join(repoRoot, 'server/package.json'))('better-sqlite3');
const EDITS = 3000;

const source = new Y.Doc();
const updates = [];
source.on('update', (update) => updates.push(update));
const agreement = new Y.Map();
source.getMap('agreements').set('a', agreement);
agreement.set('body', new Y.Text('We agree to '));
const body = agreement.get('body');
for (let i = 0; i < EDITS; i++)
  body.insert(Math.floor(Math.random() * body.length), ` word #${i};`);

const fresh = () => {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, updates[0]);
  return doc;
};
const results = {};
const time = (label, setup, step) => {
  // Twice: the first pass warms the JIT up.
  let us = 0;
  for (let pass = 0; pass < 2; pass++) {
    const state = setup();
    const started = performance.now();
    for (let i = 1; i < updates.length; i++) step(state, updates[i]);
    us = ((performance.now() - started) * 1000) / (updates.length - 1);
  }
  results[label] = Number(us.toFixed(1));
};
time(
  'Y.decodeUpdate (full validation)',
  () => null,
  (_, u) => Y.decodeUpdate(u),
);
time('Y.applyUpdate', fresh, (doc, u) => Y.applyUpdate(doc, u));
time(
  'Y.applyUpdate with the update event (re-encoded)',
  () => {
    const doc = fresh();
    doc.on('update', () => {});
    return doc;
  },
  (doc, u) => Y.applyUpdate(doc, u),
);

const dir = mkdtempSync('/tmp/mend-micro-');
for (const synchronous of ['FULL', 'NORMAL']) {
  const db = new Database(path.join(dir, `${synchronous}.sqlite`));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec('CREATE TABLE updates (seq INTEGER PRIMARY KEY AUTOINCREMENT, space_id TEXT, data BLOB)');
  const insert = db.prepare('INSERT INTO updates (space_id, data) VALUES (?, ?)');
  const commit = db.transaction((data) => insert.run('space', data));
  const n = 1000;
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 1; i <= n; i++) commit(updates[i]);
  const used = process.cpuUsage(cpu);
  results[`SQLite insert + commit, synchronous=${synchronous}: wall`] = Number(
    (((performance.now() - started) * 1000) / n).toFixed(1),
  );
  results[`SQLite insert + commit, synchronous=${synchronous}: CPU`] = Number(
    ((used.user + used.system) / n).toFixed(1),
  );
  db.close();
}
rmSync(dir, { recursive: true, force: true });
for (const [label, us] of Object.entries(results))
  console.log(`${String(us).padStart(8)} µs  ${label}`);
