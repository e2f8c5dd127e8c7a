// Starting and stopping the servers under test, each pinned to its own CPU, and giving each one
// the rooms (and, for Mend, the spaces and tokens) that a couple needs.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, cpuTimes, memory } from './proc.mjs';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const SERVER_CPU = '0';
export const GENERATOR_CPU = '1';

export const TARGETS = /** @type {const} */ (['mend', 'mend-sealed', 'yws', 'hocuspocus', 'relay']);
export const LABELS = {
  mend: 'Mend (SQLite)',
  'mend-sealed': 'Mend sealed (SQLite)',
  'mend-sealed-base': 'Mend sealed, base build (MEND_BENCH_BASE_SERVER)',
  'mend-sealed-batched': 'Mend sealed, offline edits in one envelope',
  'mend-sealed-provider': 'Mend sealed, SealedProvider',
  yws: 'y-websocket reference',
  hocuspocus: 'Hocuspocus (memory)',
  relay: 'raw ws relay',
  'mend-log': 'Mend, log not yet compacted',
};

const serverScript = {
  // MEND_BENCH_SERVER: another build of the server (e.g. a candidate fix) measured the same way.
  mend: process.env.MEND_BENCH_SERVER ?? path.join(repoRoot, 'server/dist/main.js'),
  'mend-sealed': process.env.MEND_BENCH_SERVER ?? path.join(repoRoot, 'server/dist/main.js'),
  // MEND_BENCH_BASE_SERVER: another checkout (or its server/dist/main.js), run beside this one in
  // the same run, rounds alternating, for a before/after on a noisy machine.
  'mend-sealed-base': baseServer(process.env.MEND_BENCH_BASE_SERVER),
  yws: fileURLToPath(new URL('../servers/yws.mjs', import.meta.url)),
  hocuspocus: fileURLToPath(new URL('../servers/hocuspocus.mjs', import.meta.url)),
  relay: fileURLToPath(new URL('../servers/relay.mjs', import.meta.url)),
};

/** The entry of the base build: `dir/server/dist/main.js` for a checkout, or the file given. */
function baseServer(given) {
  if (!given) return null;
  return given.endsWith('.js') ? path.resolve(given) : path.resolve(given, 'server/dist/main.js');
}

/** A Mend server serving sealed spaces: this build (`mend-sealed`) or the base one. */
export const isSealed = (name) => name === 'mend-sealed' || name === 'mend-sealed-base';

/** The same Mend server, serving plaintext spaces (`mend`) or sealed ones (`mend-sealed`). */
export const isMend = (name) => name === 'mend' || isSealed(name);

let eatmydata;
function hasEatmydata() {
  eatmydata ??= spawnSync('sh', ['-c', 'command -v eatmydata']).status === 0;
  return eatmydata;
}

let scratchRoot;
/** A fresh directory under this run's scratch space (removed by the runner at the end). */
export function scratchDir(prefix) {
  scratchRoot ??= mkdtempSync('/tmp/mend-bench-');
  const dir = mkdtempSync(path.join(scratchRoot, `${prefix}-`));
  mkdirSync(dir, { recursive: true });
  return dir;
}
export const scratchRootDir = () => scratchRoot;

/**
 * @param {'mend'|'mend-sealed'|'yws'|'hocuspocus'|'relay'} name
 * @param {{ dataDir?: string, preloadFile?: string, preloadRoom?: string, cpuProfileDir?: string, nodeArgs?: string[], skipFsync?: boolean, limits?: object }} [options]
 *   limits: MEND_LIMITS overrides for this server
 */
export async function startTarget(name, options = {}) {
  if (!serverScript[name]) {
    throw new Error(`${name} needs MEND_BENCH_BASE_SERVER: the path of another built checkout`);
  }
  const env = { ...process.env, PORT: '0', HOST: '127.0.0.1' };
  delete env.NODE_OPTIONS;
  if (isMend(name)) {
    env.MEND_DATA_DIR = options.dataDir ?? scratchDir('mend-data');
    env.MEND_RATE_LIMIT_PER_MINUTE = '0';
    // The bench plays hundreds of couples from one address: per-address caps would refuse them.
    env.MEND_MAX_SPACES_PER_DAY = '0';
    env.MEND_LIMITS = JSON.stringify({ socketsPerAddress: 0, ...options.limits });
  } else if (options.preloadFile !== undefined) {
    env.BENCH_PRELOAD_FILE = options.preloadFile;
    env.BENCH_PRELOAD_ROOM = options.preloadRoom;
  }
  const nodeArgs = [
    ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
    ...(options.nodeArgs ?? []),
  ];
  // Provisioning thousands of spaces is set-up, not measurement: eatmydata (when installed) skips
  // its fsyncs. Never used while anything is being measured.
  const wrapper = options.skipFsync && hasEatmydata() ? ['eatmydata'] : [];
  const child = spawn(
    'taskset',
    ['-c', SERVER_CPU, ...wrapper, process.execPath, ...nodeArgs, serverScript[name]],
    {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const tail = [];
  const remember = (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  createInterface({ input: child.stderr }).on('line', remember);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not log "listening" within 20 s:\n${tail.join('\n')}`)),
      20_000,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      remember(line);
      if (!line.startsWith('{')) return;
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      } catch {
        // not a log line of ours
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${tail.join('\n')}`));
    });
  });

  const pid = child.pid;
  return {
    name,
    pid,
    port,
    dataDir: env.MEND_DATA_DIR,
    http: `http://127.0.0.1:${port}`,
    /** Base URL and room name for a y-websocket provider. */
    wsBase: isMend(name) ? `ws://127.0.0.1:${port}/sync` : `ws://127.0.0.1:${port}`,
    cpu: () => cpuSeconds(pid),
    cpuTimes: () => cpuTimes(pid),
    memory: () => memory(pid),
    tail: () => tail.join('\n'),
    signal: (name) => child.kill(name),
    /** Mend stops gracefully (it must finish its writes); the peers hold nothing worth waiting for. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(isMend(name) || options.cpuProfileDir ? 'SIGTERM' : 'SIGKILL');
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Rooms for n couples. Mend needs a real space per couple: created and joined over HTTP. */
export async function provisionCouples(target, n, firstIndex = 0) {
  if (target.name !== 'mend') {
    return Array.from({ length: n }, (_, i) => ({
      room: `couple-${firstIndex + i}`,
      tokens: [null, null],
    }));
  }
  const couples = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const created = await postJson(
        `${target.http}/api/spaces`,
        { displayName: `A${firstIndex + i}`, name: 'Bench space' },
        201,
      );
      const joined = await postJson(
        `${target.http}/api/spaces/${created.spaceId}/join`,
        { inviteCode: created.inviteCode, displayName: `B${firstIndex + i}` },
        201,
      );
      couples[i] = { room: created.spaceId, tokens: [created.token, joined.token] };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return couples;
}

export async function postJson(url, body, expected) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== expected) throw new Error(`POST ${url} → ${response.status} ${text}`);
  return JSON.parse(text);
}

/**
 * A Mend data directory holding n provisioned couples, built once per run; each round starts from a
 * copy so that rounds do not inherit each other's edits.
 */
export async function mendTemplate(n) {
  const dir = scratchDir('mend-template');
  const mend = await startTarget('mend', { dataDir: dir, skipFsync: true });
  try {
    const couples = await provisionCouples(mend, n);
    return { dir, couples };
  } finally {
    await mend.stop();
  }
}

export function cloneDir(dir) {
  const copy = scratchDir('mend-copy');
  cpSync(dir, copy, { recursive: true });
  return copy;
}
