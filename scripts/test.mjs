#!/usr/bin/env node
// `pnpm test`: everything a change must pass, in one command, on a fresh clone.
// It prepares what the tests need (Chromium, PostgreSQL, Redis), builds, then runs lint,
// typecheck, the Vitest projects (unit + integration) and the Playwright e2e suite, and closes
// with one summary line: "N passed, N failed, N skipped" (scripts/summary.mjs). Skipped tests are
// named with their reason, and under CI=true they fail the run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ensureChromium } from './chromium.mjs';
import { pnpm } from './pnpm.mjs';
import { isCi, summary } from './summary.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const reports = `${root}test-results/reports`;

/** Each step's title and when it started: the summary says how long each took. */
const steps = [];

function step(title) {
  steps.push({ title, started: Date.now() });
  console.log(`\n=== ${title} ===`);
}

function minutes(ms) {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function sh(command) {
  return spawnSync('sh', ['-c', command], { stdio: ['ignore', 'inherit', 'inherit'] }).status === 0;
}

function reachable(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

async function waitReachable(port) {
  for (let i = 0; i < 30; i++) {
    if (await reachable(port)) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** Why tests may skip: the services that were not reachable. */
const skipReasons = [];

const have = (cmd) => sh(`command -v ${cmd} >/dev/null 2>&1`);

/**
 * Points a service's tests at it: starts it when it is installed but down, and otherwise notes
 * why its tests will skip. A variable already set (e.g. DATABASE_URL) is used as it is.
 */
async function ensureService({ name, port, variable, url, program, start }) {
  if (process.env[variable]) return;
  if (!(await reachable(port)) && have(program)) {
    console.log(`${name} is down: starting it.`);
    sh(start);
    await waitReachable(port);
  }
  if (await reachable(port)) {
    process.env[variable] = url;
    return;
  }
  skipReasons.push(`${name} is not reachable on 127.0.0.1:${port} (set ${variable})`);
  console.log(`${name} is not running on 127.0.0.1:${port}: its tests will skip.`);
}

const failures = [];
const counts = { passed: 0, failed: 0, skipped: 0 };

function run(title, args) {
  step(title);
  const status = pnpm(args, { cwd: root });
  if (status !== 0) failures.push(title);
  return status === 0;
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

step('Preparing: Chromium, PostgreSQL, Redis');
const chromium = ensureChromium();
await ensureService({
  name: 'PostgreSQL',
  port: 5432,
  variable: 'DATABASE_URL',
  url: 'postgres://postgres@127.0.0.1:5432/test',
  program: 'pg_ctlcluster',
  start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start',
});
await ensureService({
  name: 'Redis',
  port: 6379,
  variable: 'REDIS_URL',
  url: 'redis://127.0.0.1:6379',
  program: 'redis-server',
  start: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
});
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

if (!run('Build', ['run', 'build'])) {
  console.log('\nThe build failed; nothing else can run.\n0 passed, 1 failed, 0 skipped');
  process.exit(1);
}
run('Lint and format', ['run', 'lint']);
run('Typecheck', ['run', 'typecheck']);

run('Unit and integration tests (Vitest)', [
  'exec',
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${reports}/vitest.json`,
]);
const vitest = readJson(`${reports}/vitest.json`);
if (vitest) {
  counts.passed += vitest.numPassedTests;
  counts.failed += vitest.numFailedTests;
  counts.skipped += vitest.numPendingTests + (vitest.numTodoTests ?? 0);
}

if (chromium) {
  process.env.PLAYWRIGHT_JSON_OUTPUT_FILE = `${reports}/playwright.json`;
  run('End-to-end tests (Playwright, Chromium)', ['run', 'test:e2e', '--reporter=list,json']);
  const e2e = readJson(`${reports}/playwright.json`);
  if (e2e?.stats) {
    counts.passed += e2e.stats.expected + e2e.stats.flaky;
    counts.failed += e2e.stats.unexpected;
    counts.skipped += e2e.stats.skipped;
  }
} else {
  failures.push('End-to-end tests (no Chromium)');
}

const result = summary({
  counts,
  failedSteps: failures,
  skipReasons,
  ci: isCi(process.env),
});
const ended = Date.now();
const took = steps.map(({ title, started }, i) => {
  const until = steps[i + 1]?.started ?? ended;
  return `  ${minutes(until - started).padStart(6)}  ${title}`;
});
console.log(`\nTime per step (m:ss):\n${took.join('\n')}`);
console.log(`\n${result.lines.join('\n')}`);
process.exit(result.exitCode);
