import { readFileSync } from 'node:fs';
import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createSpace } from '../support/api.js';
import {
  isSyncStep2,
  openRawSocket,
  rawSync,
  syncStep1Message,
  updateMessage,
  type RawSocket,
} from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';

/** The cap under test: a few live documents of the size below fit, the spaces opened do not. */
const MAX_LIVE_BYTES = 8 * 1024 * 1024;
/**
 * What the process may hold beyond the baseline and the cap: garbage of decoding, waking and
 * putting documents to sleep that V8 collects in its own time (measured: 38 to 70 MB over the
 * baseline with the cap). Without the cap the same run holds over 140 MB more than the baseline
 * (3.4 MB a space), so the margin still tells the two apart.
 */
const MARGIN_BYTES = 80 * 1024 * 1024;
const SPACES = 40;
const WARM_UP_SPACES = 4;

let server: MendServer | undefined;
const sockets: RawSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await server?.dispose();
  server = undefined;
});

/** Resident memory of the server process, from the kernel. */
function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Notes typed over months, one or two characters at a time: about 230 KB encoded, and a live
 * Y.Doc of some 3 MB in the server (many small items, as real typing makes).
 */
function typedNotes(): { update: Uint8Array; text: string } {
  const doc = new Y.Doc();
  const notes = doc.getText('notes');
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 10_000; i++) notes.insert(Math.floor(random() * notes.length), 'ab');
  return { update: Y.encodeStateAsUpdate(doc), text: notes.toString() };
}

/** One space, its notes written through a socket and stored; the socket stays open. */
async function openSpaceWith(
  running: MendServer,
  notes: Uint8Array,
  name: string,
): Promise<{ spaceId: string; token: string; socket: RawSocket }> {
  const space = await createSpace(running);
  const socket = await openRawSocket(running, space.spaceId, { token: space.token });
  sockets.push(socket);
  const mine = new Y.Doc();
  Y.applyUpdate(mine, notes);
  const before = Y.encodeStateVector(mine);
  mine.getText('name').insert(0, name);
  socket.send(updateMessage(notes));
  socket.send(updateMessage(Y.encodeStateAsUpdate(mine, before)));
  // The server answers sync step 1 only once every update received before it is stored.
  const seen = socket.messages.length;
  socket.send(syncStep1Message(mine));
  await socket.nextMessage(
    (message) => isSyncStep2(message) && socket.messages.indexOf(message) >= seen,
    'the server to store the notes',
  );
  return { spaceId: space.spaceId, token: space.token, socket };
}

describe('memory', () => {
  it('stays under MEND_MAX_LIVE_BYTES plus a margin while more spaces are open than fit, and serves every one afterwards', async () => {
    const running = (server = await startServer({
      // One address creates every space here.
      env: { MEND_MAX_LIVE_BYTES: String(MAX_LIVE_BYTES), MEND_MAX_SPACES_PER_DAY: '0' },
    }));
    const notes = typedNotes();
    // The baseline includes a few spaces written the same way, so code and the heap's working
    // size (garbage of decoding and encoding documents, collected in its own time) are counted
    // in it, not against the cap.
    for (let i = 0; i < WARM_UP_SPACES; i++) {
      (await openSpaceWith(running, notes.update, `warm-up ${i}`)).socket.close();
    }
    const baseline = residentBytes(running.pid);

    // Sampled after every space, sockets kept open: each room holds its space's notes.
    const spaces = [];
    let whileOpen = 0;
    for (let i = 0; i < SPACES; i++) {
      spaces.push(await openSpaceWith(running, notes.update, `space ${i}`));
      whileOpen = Math.max(whileOpen, residentBytes(running.pid));
    }
    for (const { socket } of spaces) socket.close();

    for (const [i, { spaceId, token }] of spaces.entries()) {
      const socket = await openRawSocket(running, spaceId, { token });
      sockets.push(socket);
      const doc = await rawSync(socket);
      expect(doc.getText('name').toString()).toBe(`space ${i}`);
      expect(doc.getText('notes').toString()).toBe(notes.text);
      socket.close();
    }
    const afterReading = residentBytes(running.pid);

    const limit = baseline + MAX_LIVE_BYTES + MARGIN_BYTES;
    const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
    const report =
      `baseline ${mb(baseline)}, most with ${SPACES} spaces open ${mb(whileOpen)}, ` +
      `after reading them back ${mb(afterReading)}`;
    expect(whileOpen, report).toBeLessThan(limit);
    expect(afterReading, report).toBeLessThan(limit);
    // 45 s measured on two cores at a load average of 17; bounded for a busy CI.
  }, 90_000);
});
