// `pnpm bench`: every scenario of issue 6 in one run, targets alternating within each round,
// each server pinned to CPU 0 and this load generator to CPU 1. Raw results go to
// tests/bench/results/<timestamp>.json; the tables for docs/benchmarks.md are printed at the end.
//
//   pnpm bench                       the full suite (about 15 minutes on 2 cores)
//   pnpm bench --quick               a smoke run: a few couples, a few seconds each
//   pnpm bench --only latency,storage --targets mend,yws --rounds 1
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureChromium } from '../../scripts/chromium.mjs';
import { buildMissing } from '../../scripts/pnpm.mjs';
import { runPinned } from './lib/pinned.mjs';
import { isSealed, mendTemplate, repoRoot, scratchRootDir, TARGETS } from './lib/targets.mjs';

await runPinned(import.meta.url, main);

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      targets: { type: 'string' },
      rounds: { type: 'string' },
      couples: { type: 'string' },
      duration: { type: 'string' },
      'large-couples': { type: 'string' },
      steps: { type: 'string' },
      'capacity-rounds': { type: 'string' },
      budget: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const quick = values.quick;
  const list = (s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const config = {
    rounds: Number(values.rounds ?? (quick ? 1 : 3)),
    couples: Number(values.couples ?? (quick ? 5 : 200)),
    durationMs: Number(values.duration ?? (quick ? 3 : 15)) * 1000,
    largeCouples: Number(values['large-couples'] ?? (quick ? 0 : 1000)),
    steps: (values.steps
      ? list(values.steps)
      : quick
        ? ['20', '40']
        : ['500', '1000', '2000', '4000', '8000']
    ).map(Number),
    capacityRounds: Number(values['capacity-rounds'] ?? values.rounds ?? (quick ? 1 : 3)),
    targets: values.targets ? list(values.targets) : [...TARGETS],
    // Minutes the whole run may take; the capacity ramps (last) shrink their largest steps to fit.
    budgetMinutes: Number(values.budget ?? (quick ? 60 : 22)),
    only: values.only ? new Set(list(values.only)) : null,
  };
  const wanted = (scenario) => config.only === null || config.only.has(scenario);

  buildMissing([
    { name: '@mend/protocol', file: 'packages/protocol/dist/index.js' },
    { name: '@mend/model', file: 'packages/model/dist/index.js' },
    { name: '@mend/sealed', file: 'packages/sealed/dist/index.js' },
    { name: '@mend/server', file: 'server/dist/main.js' },
  ]);

  const { clientWeight } = await import('./scenarios/clientWeight.mjs');
  const { latencyRound } = await import('./scenarios/latency.mjs');
  const { capacityRound } = await import('./scenarios/capacity.mjs');
  const { offlineMergeRound } = await import('./scenarios/offlineMerge.mjs');
  const { coldLoadRound, prepareFiveYearSpace } = await import('./scenarios/coldLoad.mjs');
  const { browserOpen } = await import('./scenarios/browser.mjs');
  const { prepareSealedFiveYearSpace, sealedColdLoadRound } =
    await import('./scenarios/sealedColdLoad.mjs');
  const { keystrokeBytes } = await import('./scenarios/wireBytes.mjs');
  const { sealedTemplate } = await import('./lib/sealedSpaces.mjs');
  const { markdown } = await import('./lib/report.mjs');

  const started = new Date();
  const results = {
    startedAt: started.toISOString(),
    command: `pnpm bench ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machine(),
    code: codeVersion(repoRoot),
    config,
    notes: [],
    scenarios: {},
  };
  const log = (...args) =>
    console.log(`[${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)} s]`, ...args);
  // Each round starts with the next target, so none always runs first.
  const rotate = (list, round) => list.map((_, i) => list[(i + round) % list.length]);
  const withMend = config.targets.includes('mend');
  const withSealed = config.targets.some(isSealed);

  const outDir = path.join(repoRoot, 'tests/bench/results');
  mkdirSync(outDir, { recursive: true });
  const outFile =
    values.out ??
    path.join(
      outDir,
      `${started.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`,
    );
  // Saved after every scenario, so a run cut short still leaves what it measured.
  const save = () => writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);

  try {
    // Installed before anything is measured, not between scenarios.
    if (wanted('browser') && withMend) ensureChromium((line) => log(line));

    if (wanted('wire')) {
      results.scenarios.wire = keystrokeBytes();
      save();
    }

    if (wanted('weight')) {
      results.scenarios.clientWeight = clientWeight();
      log('client weight:', results.scenarios.clientWeight.js?.gzipBytes, 'bytes of JS gzipped');
      save();
    }

    const needCouples = Math.max(
      wanted('latency') ? config.couples : 0,
      wanted('latency') ? config.largeCouples : 0,
      wanted('capacity') ? config.steps.at(-1) : 0,
      wanted('merge') ? 1 : 0,
    );
    let template = null;
    if (withMend && needCouples > 0) {
      const t0 = Date.now();
      template = await mendTemplate(needCouples);
      log(`provisioned ${needCouples} Mend spaces (set-up, not measured) in ${Date.now() - t0} ms`);
    }
    let sealed = null;
    if (withSealed && needCouples > 0) {
      const t0 = Date.now();
      sealed = await sealedTemplate(needCouples);
      log(
        `provisioned ${needCouples} sealed spaces (set-up, not measured) in ${Date.now() - t0} ms`,
      );
    }
    const templateFor = (target) => (target.startsWith('mend-sealed') ? sealed : template);

    if (wanted('merge')) {
      const rounds = [];
      const stateful = config.targets
        // The base build is for latency and capacity; merge and cold load measure the devices.
        .filter((t) => t !== 'relay' && t !== 'mend-sealed-base')
        .flatMap((t) =>
          t === 'mend-sealed' ? [t, 'mend-sealed-batched', 'mend-sealed-provider'] : [t],
        );
      for (let round = 0; round < config.rounds; round++) {
        for (const target of rotate(stateful, round)) {
          const r = await offlineMergeRound(target, {
            template: templateFor(target),
            seed: round + 1,
          });
          log(`offline merge r${round + 1} ${target}: ${r.mergeMs} ms`);
          rounds.push(r);
        }
      }
      results.scenarios.offlineMerge = { editsPerClient: 1000, rounds };
      results.notes.push(
        'The raw relay is left out of offline merge and cold load: it holds no document, so it has nothing to merge or serve.',
      );
      save();
    }

    let space = null;
    if ((wanted('cold') || wanted('storage')) && withMend) {
      space = await prepareFiveYearSpace();
      results.scenarios.storage = space.report;
      log(
        `five-year space: ${space.report.encodedStateBytes} bytes encoded; SQLite ${space.report.storage.beforeCompaction.fileBytes} bytes before compaction, ${space.report.storage.afterCompaction.bytesInUse} in use after`,
      );
      save();
    }
    let sealedSpace = null;
    if (wanted('cold') && withSealed) {
      sealedSpace = await prepareSealedFiveYearSpace();
      results.scenarios.sealedSpace = sealedSpace.report;
      log(
        `sealed five-year space: ${sealedSpace.report.snapshotEnvelopeBytes} bytes of snapshot envelope, ${sealedSpace.report.tailEnvelopes} envelopes after it`,
      );
      save();
    }
    if (wanted('cold') && (space || sealedSpace)) {
      const rounds = [];
      // The peers serve the plaintext Mend stored, or else the sealed space's plaintext.
      const plain = space ?? sealedSpace.plain;
      const names = [
        ...config.targets.filter(
          (t) => t !== 'relay' && t !== 'mend-sealed-base' && (t !== 'mend' || space),
        ),
        ...(space ? ['mend-log'] : []),
      ];
      for (let round = 0; round < config.rounds; round++) {
        for (const target of rotate(names, round)) {
          const r =
            target === 'mend-sealed'
              ? await sealedColdLoadRound(sealedSpace)
              : await coldLoadRound(target, target.startsWith('mend') ? space : plain);
          log(`cold load r${round + 1} ${target}: ${r.completeMs} ms, ${r.bytesReceived} bytes`);
          rounds.push(r);
        }
      }
      results.scenarios.coldLoad = {
        encodedStateBytes: (space ?? sealedSpace).report.encodedStateBytes,
        rounds,
      };
      save();
    }

    if (wanted('browser') && withMend) {
      results.scenarios.browser = await browserOpen({ rounds: config.rounds, log });
      if (!results.scenarios.browser.available)
        log(`chromium: ${results.scenarios.browser.reason}`);
      save();
    }

    if (wanted('latency')) {
      const rounds = [];
      for (let round = 0; round < config.rounds; round++) {
        for (const target of rotate(config.targets, round)) {
          const r = await latencyRound(target, {
            couples: config.couples,
            durationMs: config.durationMs,
            template: templateFor(target),
            seed: round + 1,
          });
          log(
            `latency r${round + 1} ${target}: p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ${r.serverCpuPerEditUs} µs/edit (${r.serverCpuPerEditAboveIdleUs} above idle), lost ${r.lost}, generator loop p99 ${r.generatorEventLoopDelay.p99Ms} ms`,
          );
          rounds.push(r);
        }
      }
      results.scenarios.latency = {
        couples: config.couples,
        durationMs: config.durationMs,
        rounds,
      };
      save();
      if (config.largeCouples > 0) {
        const large = [];
        const durationMs = Math.min(config.durationMs, 10_000);
        // Sealed devices cost the one generator core ~5 ms an edit: it cannot play even 200
        // couples of them (docs/benchmarks.md, "Sealed spaces"), let alone this many.
        for (const target of config.targets.filter((t) => !isSealed(t))) {
          const r = await latencyRound(target, {
            couples: config.largeCouples,
            durationMs,
            template: templateFor(target),
            seed: 99,
          });
          log(
            `latency ${config.largeCouples} couples ${target}: p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, lost ${r.lost}, generator loop p99 ${r.generatorEventLoopDelay.p99Ms} ms`,
          );
          large.push(r);
        }
        results.scenarios.latencyLarge = {
          couples: config.largeCouples,
          durationMs,
          rounds: large,
        };
        save();
      }
    }

    if (wanted('capacity')) {
      const rounds = [];
      results.scenarios.capacity = { steps: config.steps, rounds };
      const deadline = started.getTime() + config.budgetMinutes * 60_000;
      // Connect-and-sync time per couple seen so far, per target: the estimate for its next ramp.
      const msPerCouple = new Map();
      let rampsLeft = config.capacityRounds * config.targets.length;
      for (let round = 0; round < config.capacityRounds; round++) {
        for (const target of rotate(config.targets, round)) {
          // The largest step only in the first round: it costs as much as all the others together.
          const steps =
            round === 0 || config.steps.length < 2 ? config.steps : config.steps.slice(0, -1);
          const allowedMs = (deadline - Date.now()) / rampsLeft;
          const rate = msPerCouple.get(target) ?? Math.max(5, ...msPerCouple.values());
          const estimate = (list) => list.at(-1) * rate + list.length * 2500 + 3000;
          while (steps.length > 1 && estimate(steps) > allowedMs) steps.pop();
          rampsLeft--;
          if (steps.at(-1) !== config.steps.at(round === 0 ? -1 : -2)) {
            results.notes.push(
              `capacity round ${round + 1}, ${target}: stopped at ${steps.at(-1)} couples to stay within the ${config.budgetMinutes}-minute budget`,
            );
          }
          const r = await capacityRound(target, { steps, template: templateFor(target) });
          const connectMs = r.steps.reduce((n, s) => n + s.connectMs, 0);
          msPerCouple.set(target, connectMs / r.steps.at(-1).couples);
          log(
            `capacity r${round + 1} ${target}: ${r.steps.map((s) => `${s.couples}: ${(s.bytesPerCouple / 1024).toFixed(1)} KB/couple in ${s.connectMs} ms`).join(', ')}`,
          );
          rounds.push(r);
          save();
        }
      }
    }
  } finally {
    results.finishedAt = new Date().toISOString();
    save();
    log(`raw results: ${path.relative(process.cwd(), outFile)}`);
    const scratch = scratchRootDir();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`\n${markdown(results)}\n`);
  process.exit(0);
}

function machine() {
  const cpus = os.cpus();
  let kernel = os.release();
  try {
    kernel = readFileSync('/proc/version', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    // not Linux
  }
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    kernel,
    loadAverageAtStart: os.loadavg(),
  };
}

/** Which code was measured: the commit, and whether the built server came from edited sources. */
function codeVersion(repoRoot) {
  const git = (...args) =>
    spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim() ?? '';
  let serverBuiltAt = null;
  try {
    serverBuiltAt = statSync(path.join(repoRoot, 'server/dist/main.js')).mtime.toISOString();
  } catch {
    // not built
  }
  return {
    commit: git('rev-parse', 'HEAD'),
    uncommittedSourceFiles: git(
      'status',
      '--porcelain',
      '--',
      'server/src',
      'packages',
      'apps/web/src',
    )
      .split('\n')
      .filter(Boolean),
    serverBuiltAt,
    serverEntry: process.env.MEND_BENCH_SERVER ?? 'server/dist/main.js',
    baseServer: process.env.MEND_BENCH_BASE_SERVER ?? null,
    baseCommit: process.env.MEND_BENCH_BASE_SERVER
      ? spawnSync('git', ['rev-parse', 'HEAD'], {
          cwd: process.env.MEND_BENCH_BASE_SERVER.replace(/\/server\/dist\/main\.js$/, ''),
          encoding: 'utf8',
        }).stdout?.trim()
      : null,
  };
}
