import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** Every file git tracks or would track (untracked but not ignored), relative to the root. */
export function repoFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  });
  return [...new Set(out.split('\n').filter((f) => f !== ''))].sort();
}

export function readRepoFile(file: string): string {
  return readFileSync(path.join(root, file), 'utf8');
}
