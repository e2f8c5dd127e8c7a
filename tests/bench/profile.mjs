// Where Mend's time and memory go, for the report: a CPU profile of Mend under the latency load,
// one of a cold load of the five-year space, and heap snapshots of Mend and the reference server
// holding idle couples. Run after `pnpm bench` (it loads the machine the same way):
//
//   node tests/bench/profile.mjs [--couples 200] [--seconds 10] [--idle-couples 1000]
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runPinned } from './lib/pinned.mjs';

await runPinned(import.meta.url, main);

function newest(dir, suffix) {
  const files = readdirSync(dir).filter((f) => f.endsWith(suffix));
  return files.length ? path.join(dir, files.sort().at(-1)) : null;
}

async function main() {
  const { values } = parseArgs({
    options: {
      couples: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '10' },
      'idle-couples': { type: 'string', default: '1000' },
    },
  });
  const { mendTemplate, repoRoot, scratchDir, scratchRootDir, startTarget } =
    await import('./lib/targets.mjs');
  const { latencyRound } = await import('./scenarios/latency.mjs');
  const { coldLoadRound, prepareFiveYearSpace } = await import('./scenarios/coldLoad.mjs');
  const { createClient, pool, sleep } = await import('./lib/clients.mjs');
  const { topFunctions } = await import('./lib/profile.mjs');
  const { heapByConstructor, heapPerCouple } = await import('./lib/heap.mjs');
  const { launch } = await import('./lib/launch.mjs');

  const couples = Number(values.couples);
  const idleCouples = Number(values['idle-couples']);
  const out = { startedAt: new Date().toISOString(), couples, idleCouples };
  const template = await mendTemplate(Math.max(couples, idleCouples));

  // 1. CPU under the latency load.
  const latencyDir = scratchDir('cpu-latency');
  out.latency = await latencyRound('mend', {
    couples,
    durationMs: Number(values.seconds) * 1000,
    template,
    seed: 7,
    serverOptions: { cpuProfileDir: latencyDir },
  });
  out.latencyProfile = topFunctions(newest(latencyDir, '.cpuprofile'), 30);
  console.log(
    'latency profile',
    JSON.stringify(out.latencyProfile.byPackage),
    JSON.stringify(out.latencyProfile.top.slice(0, 12)),
  );

  // 2. CPU of a cold load of the five-year space.
  const space = await prepareFiveYearSpace();
  const coldDir = scratchDir('cpu-cold');
  const mend = await startTarget('mend', { dataDir: space.mend.dataDir, cpuProfileDir: coldDir });
  const client = createClient(mend, space.mend.room, { token: space.mend.token });
  const t0 = performance.now();
  await client.ready();
  out.coldLoadMs = performance.now() - t0;
  client.destroy();
  await mend.stop();
  out.coldLoadProfile = topFunctions(newest(coldDir, '.cpuprofile'), 30);
  console.log(
    'cold-load profile',
    JSON.stringify(out.coldLoadProfile.byPackage),
    JSON.stringify(out.coldLoadProfile.top.slice(0, 12)),
  );
  out.coldLoadReference = await coldLoadRound('yws', space);

  // 3. Heap of idle couples, Mend and the reference.
  out.heap = {};
  for (const name of ['mend', 'yws']) {
    const dir = scratchDir(`heap-${name}`);
    const { target, couples: rooms } = await launch(name, idleCouples, template, {
      nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`],
    });
    const clients = [];
    const snapshot = async () => {
      const before = new Set(readdirSync(dir));
      target.signal('SIGUSR2');
      // Written on the server's main thread; it answers HTTP again once the file is complete.
      while (readdirSync(dir).every((f) => before.has(f))) await sleep(100);
      await fetch(`${target.http}/`).catch(() => null);
      return heapByConstructor(newest(dir, '.heapsnapshot'), 25);
    };
    try {
      await sleep(1000);
      const empty = await snapshot();
      await pool(rooms, 100, async (couple) => {
        const a = createClient(target, couple.room, { token: couple.tokens[0] });
        const b = createClient(target, couple.room, { token: couple.tokens[1] });
        clients.push(a, b);
        await Promise.all([a.ready(), b.ready()]);
      });
      await sleep(2000);
      const rss = target.memory().rss;
      const full = await snapshot();
      const perCouple = heapPerCouple(empty, full, idleCouples);
      out.heap[name] = { rssBytes: rss, heapBytes: full.totalBytes, ...perCouple };
      console.log(`${name}: ${perCouple.bytesPerCouple} heap bytes per idle couple`);
      console.log(JSON.stringify(perCouple.top.slice(0, 12)));
    } finally {
      for (const c of clients) c.destroy();
      await target.stop();
    }
  }

  const file = path.join(
    repoRoot,
    'tests/bench/results',
    `profile-${out.startedAt.replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`written ${path.relative(process.cwd(), file)}`);
  const scratch = scratchRootDir();
  if (scratch) (await import('node:fs')).rmSync(scratch, { recursive: true, force: true });
  process.exit(0);
}
