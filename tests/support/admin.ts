/**
 * Runs an operator command (`node server/dist/admin.js …`) as its own process, the way an operator
 * would beside a running server, with only the data directory configured.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './server.js';

export const adminEntry = join(repoRoot, 'server/dist/admin.js');

export interface AdminResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Resolves with how the command ended; rejects only if it outlives `timeoutMs`. */
export function runAdmin(
  args: readonly string[],
  dataDir: string,
  timeoutMs = 60_000,
): Promise<AdminResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(MEND_|DATABASE_URL$|REDIS_URL$)/.test(key)) env[key] = value;
  }
  env.MEND_DATA_DIR = dataDir;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [adminEntry, ...args],
      { cwd: repoRoot, env, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error && error.killed) {
          reject(new Error(`admin ${args.join(' ')} did not finish within ${timeoutMs} ms`));
          return;
        }
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
