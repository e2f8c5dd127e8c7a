#!/usr/bin/env node
// The fuzz test (tests/integration/fuzz.test.ts) for longer, with a seed of your choice:
//
//   node tests/fuzz/run.mjs [--seed 7] [--minutes 5] [--spaces 3]
//
// A real server on 127.0.0.1 (port 0, a temporary data directory), one attacking device and
// one honest partner per space; it stops after the given minutes (at most 120) and then loads
// every space in a fresh client, before and after a restart. Build the server first.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    minutes: { type: 'string', default: '5' },
    spaces: { type: 'string', default: '3' },
  },
});
const seed = Number.parseInt(values.seed, 10);
const minutes = Number(values.minutes);
const spaces = Number.parseInt(values.spaces, 10);
if (!Number.isInteger(seed) || !(minutes > 0 && minutes <= 120) || !(spaces >= 1 && spaces <= 20)) {
  process.stderr.write(
    'Usage: node tests/fuzz/run.mjs [--seed N] [--minutes 0.5..120] [--spaces 1..20]\n',
  );
  process.exit(2);
}
const durationMs = Math.round(minutes * 60_000);
process.stdout.write(`Fuzzing ${spaces} space(s) for ${minutes} min with seed ${seed}\n`);
const root = fileURLToPath(new URL('../..', import.meta.url));
const result = spawnSync(
  'npx',
  ['vitest', 'run', '--project', 'integration', 'tests/integration/fuzz.test.ts'],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      FUZZ_SEED: String(seed),
      FUZZ_SPACES: String(spaces),
      FUZZ_DURATION_MS: String(durationMs),
      // Room for the final loads and the restart after the attack.
      FUZZ_TIMEOUT_MS: String(durationMs + 120_000),
    },
  },
);
if (result.status !== 0)
  process.stdout.write(
    `Replay with: node tests/fuzz/run.mjs --seed ${seed} --minutes ${minutes} --spaces ${spaces}\n`,
  );
process.exit(result.status ?? 1);
