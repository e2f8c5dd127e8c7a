import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCouple } from '../support/api.js';
import {
  containsAll,
  fetchDocument,
  nextClose,
  openProvider,
  trackProviders,
  waitForDoc,
  waitForSynced,
} from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';
import { copyDoc, editsWithPrefix } from '../support/streams.js';

/** Whether this process may mount a filesystem (root, with the capability to mount). */
function canMountTmpfs(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'mend-mount-probe-'));
  try {
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]);
    if (mounted.status !== 0) return false;
    spawnSync('umount', [probe]);
    return true;
  } catch {
    return false;
  } finally {
    rmdirSync(probe);
  }
}

const mountable = canMountTmpfs();
if (!mountable) {
  console.log(
    'full-disk tests skipped: mounting a small tmpfs as the data directory needs root ' +
      '(CI runs as root, so they run there)',
  );
}

let server: MendServer | undefined;
let mountPoint: string | undefined;
const providers = trackProviders();
const { track } = providers;

afterEach(async () => {
  providers.destroyAll();
  // The server holds the database open: it must be gone before the filesystem can be unmounted.
  await server?.stop().catch(() => server?.kill());
  server = undefined;
  if (mountPoint) {
    spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
    mountPoint = undefined;
  }
});

/** A fresh tmpfs of `size` mounted on a new directory. */
function mountSmallDisk(size: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mend-small-disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  if (mounted.status !== 0) throw new Error(`mount failed: ${mounted.stderr.toString()}`);
  mountPoint = dir;
  return dir;
}

/** Writes to `file` until the filesystem has no room left. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) {
      try {
        writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
    // The last partial blocks: smaller writes until not even one byte fits.
    for (const size of [4096, 512, 1]) {
      for (;;) {
        try {
          writeSync(fd, chunk.subarray(0, size));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(!mountable)('a storage write that fails because the disk is full', () => {
  it('closes the sockets with 1011, keeps what was stored, and stores again once there is room', async () => {
    const dataDir = mountSmallDisk('8m');
    server = await startServer({ dataDir });
    const couple = await createCouple(server);
    const a = track(openProvider(server, couple.spaceId, couple.a.token));
    const b = track(openProvider(server, couple.spaceId, couple.b.token));
    await Promise.all([waitForSynced(a.provider), waitForSynced(b.provider)]);

    for (let i = 0; i < 20; i++) a.doc.getArray<string>('edits').push([`before:${i}`]);
    // B receives only what the server has stored.
    await waitForDoc(b.doc, () => editsWithPrefix(b.doc, 'before:').length === 20, 'edits at B');
    const storedBefore = copyDoc(b.doc);

    const filler = join(dataDir, 'filler');
    fillDisk(filler);
    const aClosed = nextClose(a.provider, 'A');
    const bClosed = nextClose(b.provider, 'B');
    a.doc.getArray<string>('edits').push(['while the disk was full']);
    expect(await aClosed).toBe(1011);
    expect(await bClosed).toBe(1011);
    expect(server.logs.some((log) => log.msg === 'room failed; closing its sockets')).toBe(true);

    // Both devices keep reconnecting on their own; once there is room, A's edit gets stored.
    rmSync(filler);
    await waitForDoc(
      b.doc,
      () => editsWithPrefix(b.doc, 'while the disk').length === 1,
      "A's edit at B after the disk had room again",
    );
    const fresh = await fetchDocument(server, couple.spaceId, couple.b.token);
    expect(containsAll(fresh, storedBefore)).toBe(true);
    expect(containsAll(fresh, a.doc)).toBe(true);
    expect(containsAll(b.doc, a.doc) && containsAll(a.doc, b.doc)).toBe(true);

    // And it is on disk, not only in the room: a restarted server serves it all.
    providers.destroyAll();
    server = await server.restart();
    const afterRestart = await fetchDocument(server, couple.spaceId, couple.a.token);
    expect(containsAll(afterRestart, a.doc)).toBe(true);
    expect(editsWithPrefix(afterRestart, 'before:')).toHaveLength(20);
  });
});
