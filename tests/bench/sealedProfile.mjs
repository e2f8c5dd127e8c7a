// Where a sealed server's CPU goes per edit: one latency round of sealed couples against a Mend
// server started with --cpu-prof, its self time by function and by package (issue 12).
//
//   node tests/bench/sealedProfile.mjs [--couples 20] [--seconds 15] [--keep /tmp/sealed.cpuprofile]
//   MEND_BENCH_BASE_SERVER=/path/to/checkout node tests/bench/sealedProfile.mjs --target mend-sealed-base
//   node tests/bench/sealedProfile.mjs --idle-couples 500   the heap per idle couple instead
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runPinned } from './lib/pinned.mjs';

await runPinned(import.meta.url, main);

async function main() {
  const { values } = parseArgs({
    options: {
      couples: { type: 'string', default: '20' },
      seconds: { type: 'string', default: '15' },
      target: { type: 'string', default: 'mend-sealed' },
      top: { type: 'string', default: '40' },
      // Copies the raw .cpuprofile there (for Chrome's DevTools or a closer look).
      keep: { type: 'string' },
      'idle-couples': { type: 'string' },
    },
  });
  const { repoRoot, scratchDir, scratchRootDir } = await import('./lib/targets.mjs');
  const { sealedTemplate } = await import('./lib/sealedSpaces.mjs');
  const { latencyRound } = await import('./scenarios/latency.mjs');
  const { topFunctions } = await import('./lib/profile.mjs');
  if (values['idle-couples'])
    return idleHeap(values.target, Number(values['idle-couples']), values.keep);
  const couples = Number(values.couples);
  const template = await sealedTemplate(couples);
  const dir = scratchDir('cpu-sealed');
  const round = await latencyRound(values.target, {
    couples,
    durationMs: Number(values.seconds) * 1000,
    template,
    seed: 7,
    serverOptions: { cpuProfileDir: dir },
  });
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const profile = topFunctions(path.join(dir, file), Number(values.top));
  if (values.keep) copyFileSync(path.join(dir, file), values.keep);
  const out = {
    startedAt: new Date().toISOString(),
    target: values.target,
    couples,
    edits: round.edits,
    serverCpuPerEditUs: round.serverCpuPerEditUs,
    profile,
  };
  const name = `sealed-profile-${out.startedAt.replace(/[:.]/g, '-')}-${values.target}.json`;
  writeFileSync(
    path.join(repoRoot, 'tests/bench/results', name),
    `${JSON.stringify(out, null, 2)}\n`,
  );
  console.log(
    `${round.edits} edits, ${round.serverCpuPerEditUs} µs/edit; profile ${profile.totalMs} ms`,
  );
  for (const p of profile.byPackage)
    console.log(`${p.name.padEnd(24)} ${String(p.ms).padStart(6)} ms`);
  for (const t of profile.top) console.log(`${String(t.ms).padStart(6)} ms  ${t.fn}`);
  console.log(`results/${name}`);
  const { rmSync } = await import('node:fs');
  const scratch = scratchRootDir();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  process.exit(0);
}

/** Heap snapshots of a sealed server before and after `n` idle couples connect, by constructor. */
async function idleHeap(name, n, keep) {
  const { repoRoot, scratchDir, scratchRootDir } = await import('./lib/targets.mjs');
  const { sealedTemplate } = await import('./lib/sealedSpaces.mjs');
  const { launch } = await import('./lib/launch.mjs');
  const { partnerClient, pool, sleep } = await import('./lib/clients.mjs');
  const { heapByConstructor, heapPerCouple } = await import('./lib/heap.mjs');
  const template = await sealedTemplate(n);
  const dir = scratchDir('heap-sealed');
  const { target, couples } = await launch(name, n, template, {
    nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`],
  });
  const snapshot = async () => {
    const before = new Set(readdirSync(dir));
    target.signal('SIGUSR2');
    // Written on the server's main thread; it answers HTTP again once the file is complete.
    while (readdirSync(dir).every((f) => before.has(f))) await sleep(100);
    await fetch(`${target.http}/`).catch(() => null);
    const file = path.join(
      dir,
      readdirSync(dir).find((f) => !before.has(f)),
    );
    if (keep) copyFileSync(file, `${keep}.${before.size}.heapsnapshot`);
    return heapByConstructor(file, 25);
  };
  const clients = [];
  let out;
  try {
    await sleep(1000);
    const empty = await snapshot();
    await pool(couples, 100, async (couple) => {
      const a = partnerClient(target, couple, 0, { renewPresence: false });
      const b = partnerClient(target, couple, 1, { renewPresence: false });
      clients.push(a, b);
      await Promise.all([a.ready(), b.ready()]);
    });
    await sleep(2000);
    const rss = target.memory().rss;
    const full = await snapshot();
    out = { target: name, couples: n, rssBytes: rss, ...heapPerCouple(empty, full, n, 40) };
  } finally {
    for (const c of clients) c.destroy();
    await target.stop();
  }
  const name2 = `sealed-heap-${new Date().toISOString().replace(/[:.]/g, '-')}-${name}.json`;
  writeFileSync(
    path.join(repoRoot, 'tests/bench/results', name2),
    `${JSON.stringify(out, null, 2)}\n`,
  );
  console.log(`${name}: ${out.bytesPerCouple} heap bytes per idle couple`);
  for (const r of out.top)
    console.log(
      `${String(r.bytesPerCouple).padStart(6)} B ${String(r.countPerCouple).padStart(6)}×  ${r.name}`,
    );
  const { rmSync } = await import('node:fs');
  const scratch = scratchRootDir();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  process.exit(0);
}
