// The benchmark scripts run as the load generator: pinned to its own CPU (the servers under test
// get the other one), with room for tens of thousands of clients.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GENERATOR_CPU } from './targets.mjs';

/**
 * Runs `main` when this process is already the pinned one; otherwise re-runs the script at
 * `selfUrl` (its `import.meta.url`) with the same arguments, pinned, and exits with its status.
 * @param {string} selfUrl
 * @param {() => Promise<unknown>} main
 */
export async function runPinned(selfUrl, main) {
  if (process.env.MEND_BENCH_PINNED === '1') return main();
  const child = spawn(
    'taskset',
    [
      '-c',
      GENERATOR_CPU,
      process.execPath,
      '--max-old-space-size=8192',
      fileURLToPath(selfUrl),
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit', env: { ...process.env, MEND_BENCH_PINNED: '1' } },
  );
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
