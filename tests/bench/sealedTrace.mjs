// Where one edit's latency goes, step by step: one couple on a target, one keystroke at a time
// (each after the last arrived and settled), timed at the sending device (the change made and
// sealed, its message handed to the socket, the server's answer back) and at the partner's (the
// server's message arrives, the change is in its document). Peers in the same run give the floor.
//
//   node tests/bench/sealedTrace.mjs [--targets mend-sealed,mend,yws,relay] [--edits 60]
//   eatmydata node tests/bench/sealedTrace.mjs   the same with every fsync skipped (a diagnostic:
//                                                what the durable commit before the relay costs)
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as model from '@mend/model';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { partnerClient, sleep, withTimeout } from './lib/clients.mjs';
import { launch } from './lib/launch.mjs';
import { runPinned } from './lib/pinned.mjs';
import { sealedTemplate } from './lib/sealedSpaces.mjs';
import { summarize } from './lib/stats.mjs';
import { isSealed, mendTemplate, scratchRootDir } from './lib/targets.mjs';

/** Every socket's sends and received messages, with their times (all clients are `ws` sockets). */
function watchSockets() {
  const sent = [];
  const received = [];
  const { emit, send } = WebSocket.prototype;
  WebSocket.prototype.emit = function (event, ...args) {
    if (event === 'message') received.push({ at: performance.now(), socket: this });
    return emit.call(this, event, ...args);
  };
  WebSocket.prototype.send = function (...args) {
    sent.push({ at: performance.now(), socket: this });
    return send.apply(this, args);
  };
  return {
    clear: () => {
      sent.length = 0;
      received.length = 0;
    },
    firstSent: (after) => sent.find((s) => s.at >= after),
    firstReceived: (after, bySocket) =>
      received.find((r) => r.at >= after && bySocket(r.socket))?.at,
  };
}

/** The text the keystrokes go into: an agreement's body, proposed through the model when sealed. */
function bodyOf(doc, by) {
  const agreements = doc.getMap('agreements');
  if (agreements.size === 0) {
    if (by) {
      model.proposeAgreement(doc, { title: 'Phones', body: 'We agree to ', by, at: Date.now() });
    } else {
      const agreement = new Y.Map();
      agreement.set('body', new Y.Text('We agree to '));
      agreements.set('trace', agreement);
    }
  }
  return [...agreements.values()][0].get('body');
}

const STEPS = ['made', 'sent', 'answered', 'arrived', 'applied'];

async function trace(name, edits, sockets) {
  // Plaintext Mend serves its couples from a template too (its rooms need a space each).
  const template = isSealed(name)
    ? await sealedTemplate(1)
    : name === 'mend'
      ? await mendTemplate(1)
      : null;
  const { target, couples } = await launch(name, 1, template);
  const [couple] = couples;
  const a = partnerClient(target, couple, 0);
  const b = partnerClient(target, couple, 1);
  try {
    await withTimeout(Promise.all([a.ready(), b.ready()]), 30_000, 'the couple’s sync');
    const body = bodyOf(a.doc, couple.devices?.[0].partnerId);
    await withTimeout(
      new Promise((resolve) => {
        const check = () => b.doc.getMap('agreements').size > 0 && resolve();
        b.doc.on('update', check);
        check();
      }),
      30_000,
      'the agreement at the partner',
    );
    await sleep(500);
    const rows = [];
    for (let i = 0; i < edits; i++) {
      sockets.clear();
      let applied = null;
      const onUpdate = (_update, _origin, _doc, transaction) => {
        if (!transaction.local) applied ??= performance.now();
      };
      b.doc.on('update', onUpdate);
      const started = performance.now();
      body.insert(0, 'x');
      const made = performance.now();
      while (applied === null) await sleep(0);
      b.doc.off('update', onUpdate);
      await sleep(20);
      const sender = sockets.firstSent(started);
      rows.push({
        made: made - started,
        sent: sender.at - started,
        answered: sockets.firstReceived(started, (s) => s === sender.socket) - started,
        arrived: sockets.firstReceived(started, (s) => s !== sender.socket) - started,
        applied: applied - started,
      });
    }
    return rows;
  } finally {
    a.destroy();
    b.destroy();
    await target.stop();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      targets: { type: 'string', default: 'mend-sealed,yws,relay' },
      edits: { type: 'string', default: '60' },
    },
  });
  const sockets = watchSockets();
  const edits = Number(values.edits);
  console.log(`${edits} keystrokes, one at a time; ms after the change, median (p90)`);
  console.log(`| target | ${STEPS.join(' | ')} |`);
  console.log(`|---|${STEPS.map(() => '---').join('|')}|`);
  for (const name of values.targets.split(',')) {
    const rows = await trace(name, edits, sockets);
    const cells = STEPS.map((step) => {
      // A relay answers nothing to the sender.
      const column = rows.map((row) => row[step]).filter(Number.isFinite);
      if (column.length === 0) return '–';
      const { p50, p90 } = summarize(column);
      return `${p50.toFixed(2)} (${p90.toFixed(2)})`;
    });
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
  const scratch = scratchRootDir();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  // The stock providers leave timers behind after destroy(); nothing is left to wait for.
  process.exit(0);
}

await runPinned(import.meta.url, main);
