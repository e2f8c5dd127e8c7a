// Scenario 2: idle connected couples, ramped up step by step on one server: resident memory per
// couple and the time to connect and sync each step.
import { performance } from 'node:perf_hooks';
import { partnerClient, pool, sleep, withTimeout } from '../lib/clients.mjs';
import { launch } from '../lib/launch.mjs';
import { round } from '../lib/stats.mjs';

/**
 * @param {string} name
 * @param {{ steps: number[], template: any, settleMs?: number, serverOptions?: object }} options
 */
export async function capacityRound(name, { steps, template, settleMs = 2000, serverOptions }) {
  const max = steps[steps.length - 1];
  const { target, couples } = await launch(name, max, template, serverOptions);
  const clients = [];
  const results = [];
  try {
    await sleep(500);
    const baseline = target.memory();
    let connected = 0;
    let previous = { rss: baseline.rss, couples: 0 };
    for (const step of steps) {
      const batch = couples.slice(connected, step);
      const cpuBefore = target.cpu();
      const started = performance.now();
      await pool(batch, 100, async (couple) => {
        // A sealed device renews its presence every 15 s: sealing it and verifying the
        // partner's costs this one generator ~4 ms a device, more than a core at 4,000 couples,
        // and a generator that far behind misses the server's pings. The server keeps the
        // latest presence either way, so memory is the same with the first one only.
        const a = partnerClient(target, couple, 0, { renewPresence: false });
        const b = partnerClient(target, couple, 1, { renewPresence: false });
        clients.push(a, b);
        await withTimeout(Promise.all([a.ready(), b.ready()]), 60_000, `${name} couple sync`);
      });
      const connectMs = performance.now() - started;
      const cpuSeconds = target.cpu() - cpuBefore;
      connected = step;
      await sleep(settleMs);
      const memory = target.memory();
      results.push({
        couples: step,
        connectMs: round(connectMs, 0),
        connectMsPerCouple: round(connectMs / batch.length, 3),
        serverCpuSeconds: round(cpuSeconds, 2),
        serverRssBytes: memory.rss,
        serverPeakRssBytes: memory.hwm,
        bytesPerCouple: round((memory.rss - baseline.rss) / step, 0),
        // Between this step and the previous one: less sensitive to the heap's start-up slack.
        marginalBytesPerCouple: round((memory.rss - previous.rss) / (step - previous.couples), 0),
        generatorRssBytes: process.memoryUsage().rss,
      });
      previous = { rss: memory.rss, couples: step };
    }
    return { target: name, baselineRssBytes: baseline.rss, steps: results };
  } finally {
    for (const client of clients) client.destroy();
    await target.stop();
  }
}
