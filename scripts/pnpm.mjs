// How the scripts call pnpm: the same pnpm that launched them (under `npx pnpm@…` it is not on
// PATH), falling back to `pnpm` on PATH.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const execPath = process.env.npm_execpath;
const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs pnpm with `args` in `cwd`, inheriting output; returns the exit status. */
export function pnpm(args, { cwd, env = process.env } = {}) {
  const viaNode = execPath && /\.(c|m)?js$/.test(execPath);
  const result = viaNode
    ? spawnSync(process.execPath, [execPath, ...args], {
        cwd,
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      })
    : spawnSync(execPath || 'pnpm', args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/**
 * Builds, in order, each workspace package whose output file (relative to the repository root) is
 * missing. Throws if a build fails; its output is already on the terminal.
 * @param {{ name: string, file: string }[]} outputs
 */
export function buildMissing(outputs) {
  for (const { name, file } of outputs) {
    if (existsSync(join(root, file))) continue;
    console.error(`[mend] building ${name} (missing ${file})`);
    if (pnpm(['--filter', name, 'run', 'build'], { cwd: root }) !== 0) {
      throw new Error(`could not build ${name}; see the output above.`);
    }
  }
}
