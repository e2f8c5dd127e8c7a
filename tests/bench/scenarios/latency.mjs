// Scenario 1: couples co-editing agreement bodies at 1-2 edits/s per person. Each edit carries a
// sequence marker; the partner's observer turns its arrival into an edit-to-partner latency.
import { performance } from 'node:perf_hooks';
import * as model from '@mend/model';
import * as Y from 'yjs';
import { partnerClient, pool, sleep, withTimeout } from '../lib/clients.mjs';
import { watchEventLoop } from '../lib/generator.mjs';
import { prng } from '../../support/prng.mjs';
import { launch } from '../lib/launch.mjs';
import { round, summarize } from '../lib/stats.mjs';
import { threadDelta, threadTimes } from '../lib/threads.mjs';

const AGREEMENTS_PER_COUPLE = 3;
const WORDS = ['listen', 'honest', 'gently', 'pause', 'truth', 'tonight', 'together', 'ask'];
const MARKER = /#(\d+);/g;

/**
 * The couple's shared agreements, shaped as @mend/model's proposeAgreement writes them. A sealed
 * space's devices check every update with the model's rules, so there they are proposed through
 * the model, by partner `by` (who is in that document).
 */
function seedAgreements(doc, coupleIndex, by) {
  if (by) {
    for (let i = 0; i < AGREEMENTS_PER_COUPLE; i++) {
      model.proposeAgreement(doc, {
        title: `Agreement ${i + 1}`,
        body: 'We agree to ',
        by,
        at: Date.now(),
      });
    }
    return;
  }
  const agreements = doc.getMap('agreements');
  doc.transact(() => {
    for (let i = 0; i < AGREEMENTS_PER_COUPLE; i++) {
      const id = `bench-agreement-${coupleIndex}-${i}`;
      const agreement = new Y.Map();
      agreement.set('id', id);
      agreement.set('title', new Y.Text(`Agreement ${i + 1}`));
      agreement.set('body', new Y.Text('We agree to '));
      agreement.set('createdBy', 'bench');
      agreement.set('proposedBy', 'bench');
      agreement.set('createdAt', Date.now());
      agreement.set('lifecycle', 'open');
      agreements.set(id, agreement);
    }
  });
}

function bodies(doc) {
  return [...doc.getMap('agreements').values()].map((agreement) => agreement.get('body'));
}

function untilAgreements(doc) {
  const agreements = doc.getMap('agreements');
  if (agreements.size >= AGREEMENTS_PER_COUPLE) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (agreements.size >= AGREEMENTS_PER_COUPLE) {
        agreements.unobserve(check);
        resolve();
      }
    };
    agreements.observe(check);
  });
}

/** A person editing: one marked insert every 500-1000 ms at a random place in a random body. */
class Editor {
  constructor(client, random) {
    this.client = client;
    this.random = random;
    this.sent = new Map();
    this.seq = 0;
    this.edits = 0;
    this.timer = null;
    this.partner = null;
  }

  start() {
    this.timer = setTimeout(() => this.edit(), this.random() * 1000);
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  edit() {
    const texts = bodies(this.client.doc);
    const body = texts[Math.floor(this.random() * texts.length)];
    const seq = ++this.seq;
    const word = WORDS[seq % WORDS.length];
    this.sent.set(seq, performance.now());
    body.insert(Math.floor(this.random() * (body.length + 1)), ` ${word} #${seq};`);
    this.edits++;
    this.timer = setTimeout(() => this.edit(), 500 + this.random() * 500);
  }

  /** Counts the partner's edits as they arrive here. */
  listen(samples) {
    this.client.doc.getMap('agreements').observeDeep((events, transaction) => {
      if (transaction.local) return;
      const now = performance.now();
      for (const event of events) {
        if (!(event.target instanceof Y.Text)) continue;
        for (const part of event.delta) {
          if (typeof part.insert !== 'string') continue;
          for (const match of part.insert.matchAll(MARKER)) {
            const seq = Number(match[1]);
            const sentAt = this.partner.sent.get(seq);
            if (sentAt !== undefined) {
              samples.push(now - sentAt);
              this.partner.sent.delete(seq);
            }
          }
        }
      }
    });
  }
}

/** Bytes and messages all clients' sockets have sent and received so far. */
function wire(clients) {
  const sum = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 };
  for (const { counter } of clients) for (const key in sum) sum[key] += counter[key];
  return sum;
}

/** Sealed devices only: time spent sealing and taking in envelopes, summed over the devices. */
function sealedWork(clients) {
  if (!clients[0]?.work) return null;
  const sum = { sealMs: 0, seals: 0, takeMs: 0, takes: 0 };
  for (const { work } of clients) for (const key in sum) sum[key] += work[key];
  return sum;
}

function perEnvelope(before, after) {
  const seals = after.seals - before.seals;
  const takes = after.takes - before.takes;
  return {
    sealPerEnvelope: round((after.sealMs - before.sealMs) / seals, 3),
    takeInPerEnvelope: round((after.takeMs - before.takeMs) / takes, 3),
    seals,
    takes,
  };
}

/**
 * @param {string} name target
 * @param {{ couples: number, durationMs: number, template: any, seed: number, serverOptions?: object }} options
 */
export async function latencyRound(
  name,
  { couples: n, durationMs, template, seed, serverOptions },
) {
  const { target, couples } = await launch(name, n, template, serverOptions);
  const clients = [];
  try {
    const random = prng(seed);
    const editors = [];
    const samples = [];
    const connectStarted = performance.now();
    await pool(couples, 50, async (couple, index) => {
      const a = partnerClient(target, couple, 0);
      const b = partnerClient(target, couple, 1);
      clients.push(a, b);
      await withTimeout(Promise.all([a.ready(), b.ready()]), 60_000, `couple ${index} sync`);
      seedAgreements(a.doc, index, couple.devices?.[0].partnerId);
      await withTimeout(untilAgreements(b.doc), 30_000, `couple ${index} agreements`);
      const ea = new Editor(a, random);
      const eb = new Editor(b, random);
      ea.partner = eb;
      eb.partner = ea;
      ea.listen(samples);
      eb.listen(samples);
      editors.push(ea, eb);
    });
    const connectMs = performance.now() - connectStarted;
    await sleep(1000);
    // What the server spends with everyone connected and nobody typing (timers, pings, awareness
    // renewals): subtracted to get the cost of an edit itself.
    const idleBefore = target.cpu();
    const idleStarted = performance.now();
    await sleep(2000);
    const idleCpuPerSecond =
      (target.cpu() - idleBefore) / ((performance.now() - idleStarted) / 1000);

    const memoryBefore = target.memory();
    const threadsBefore = threadTimes(target.pid);
    const timesBefore = target.cpuTimes();
    const cpuBefore = timesBefore.total;
    const wireBefore = wire(clients);
    const workBefore = sealedWork(clients);
    const generatorCpuBefore = process.cpuUsage();
    const loop = watchEventLoop();
    const started = performance.now();
    for (const editor of editors) editor.start();
    await sleep(durationMs);
    for (const editor of editors) editor.stop();
    const windowMs = performance.now() - started;
    const timesAfter = target.cpuTimes();
    const threads = threadDelta(threadsBefore, threadTimes(target.pid));
    const cpuAfter = timesAfter.total;
    const generator = loop();
    const generatorCpu = process.cpuUsage(generatorCpuBefore);
    generator.cpuUtilisation = round(
      (generatorCpu.user + generatorCpu.system) / 1000 / windowMs,
      3,
    );

    // Whatever is still in flight gets a few seconds to land; what never lands is lost.
    const drainStarted = performance.now();
    while (editors.some((e) => e.sent.size > 0) && performance.now() - drainStarted < 5000) {
      await sleep(50);
    }
    const edits = editors.reduce((sum, e) => sum + e.edits, 0);
    const lost = editors.reduce((sum, e) => sum + e.sent.size, 0);
    const wireAfter = wire(clients);
    const workAfter = sealedWork(clients);
    const setAside = clients.reduce((n, c) => n + (c.setAside?.length ?? 0), 0);
    let diverged = 0;
    for (let i = 0; i < editors.length; i += 2) {
      const left = bodies(editors[i].client.doc).map(String).sort().join('\n');
      const right = bodies(editors[i + 1].client.doc)
        .map(String)
        .sort()
        .join('\n');
      if (left !== right) diverged++;
    }
    const memory = target.memory();
    const latency = summarize(samples);
    return {
      target: name,
      couples: n,
      durationMs: round(windowMs, 0),
      connectMs: round(connectMs, 0),
      edits,
      editsPerSecond: round(edits / (windowMs / 1000), 1),
      received: latency.count,
      lost,
      divergedCouples: diverged,
      ...(setAside > 0 ? { setAside } : {}),
      ...(workAfter ? { sealedClientMs: perEnvelope(workBefore, workAfter) } : {}),
      // WebSocket payload bytes, every client, window and drain: what one edit costs on the wire.
      wireBytesPerEdit: {
        sent: round((wireAfter.bytesOut - wireBefore.bytesOut) / edits, 1),
        received: round((wireAfter.bytesIn - wireBefore.bytesIn) / edits, 1),
        messagesSent: round((wireAfter.messagesOut - wireBefore.messagesOut) / edits, 2),
        messagesReceived: round((wireAfter.messagesIn - wireBefore.messagesIn) / edits, 2),
      },
      latencyMs: Object.fromEntries(
        Object.entries(latency).map(([k, v]) => [k, k === 'count' ? v : round(v, 2)]),
      ),
      serverCpuSeconds: round(cpuAfter - cpuBefore, 2),
      serverCpuUserSeconds: round(timesAfter.user - timesBefore.user, 2),
      serverCpuSystemSeconds: round(timesAfter.system - timesBefore.system, 2),
      serverCpuPerEditUs: round(((cpuAfter - cpuBefore) * 1e6) / edits, 1),
      serverIdleCpuPerSecond: round(idleCpuPerSecond, 3),
      serverCpuPerEditAboveIdleUs: round(
        (Math.max(0, cpuAfter - cpuBefore - idleCpuPerSecond * (windowMs / 1000)) * 1e6) / edits,
        1,
      ),
      serverCpuTicksByThread: threads,
      serverCpuUtilisation: round((cpuAfter - cpuBefore) / (windowMs / 1000), 3),
      serverRssBytes: memory.rss,
      serverPeakRssBytes: memory.hwm,
      serverRssBeforeEditsBytes: memoryBefore.rss,
      generatorEventLoopDelay: generator,
    };
  } finally {
    for (const client of clients) client.destroy();
    await target.stop();
  }
}
