import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

/**
 * A couple's words are private: only the server's own user may read the data directory and the
 * database files, whatever umask the process was started with. Modes are set explicitly rather
 * than trusted to the umask (a umask only ever removes bits, so a file created 0600 stays 0600).
 */

/** Where a tightening is reported: the server's logger, or a test's list. */
export interface TighteningLog {
  warn(details: Record<string, unknown>, message: string): void;
}

const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;

/** Creates the directory 0700, or tightens an existing one that others could read. */
export function preparePrivateDirectory(dir: string, log?: TighteningLog): void {
  mkdirSync(dir, { recursive: true, mode: DIRECTORY_MODE });
  const mode = statSync(dir).mode & 0o777;
  if (mode !== DIRECTORY_MODE) {
    chmodSync(dir, DIRECTORY_MODE);
    log?.warn(
      { dir, was: mode.toString(8), now: DIRECTORY_MODE.toString(8) },
      'tightened the data directory so only this user can read it',
    );
  }
}

/**
 * Makes sure `file` exists with mode 0600: an existing file is tightened, a missing one is created
 * empty (SQLite treats an empty file as a new database, and gives its -wal and -shm files the
 * mode of the database file).
 */
export function preparePrivateFile(file: string, log?: TighteningLog): void {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    closeSync(openSync(file, 'a', FILE_MODE));
    mode = statSync(file).mode & 0o777;
  }
  if (mode !== FILE_MODE) {
    chmodSync(file, FILE_MODE);
    log?.warn(
      { file, was: mode.toString(8), now: FILE_MODE.toString(8) },
      'tightened a database file so only this user can read it',
    );
  }
}

/** Tightens `file` to 0600 if it exists; a missing file is left missing. */
export function tightenIfPresent(file: string, log?: TighteningLog): void {
  try {
    statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  preparePrivateFile(file, log);
}

/** Creates a new, empty file 0600; fails if it already exists (never overwrites). */
export function createPrivateFile(file: string): void {
  closeSync(openSync(file, 'wx', FILE_MODE));
}
