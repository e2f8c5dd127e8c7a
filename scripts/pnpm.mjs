// How the scripts call pnpm: the same pnpm that launched them (under `npx pnpm@…` it is not on
// PATH), falling back to `pnpm` on PATH.
import { spawnSync } from 'node:child_process';

const execPath = process.env.npm_execpath;

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
