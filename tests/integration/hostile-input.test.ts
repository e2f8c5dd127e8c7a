import * as encoding from 'lib0/encoding';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCouple, get, type Couple } from '../support/api.js';
import {
  MessageType,
  awarenessMessage,
  fetchDocument,
  openProvider,
  openRawSocket,
  rawSync,
  sameDocument,
  updateMessage,
  waitForDoc,
  waitForSynced,
  type RawSocket,
} from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';
import { copyDoc } from '../support/streams.js';

const MAX_MESSAGE_BYTES = 65_536;
const BAD_MESSAGE = [4400, 1002, 1007];

/** Deterministic noise (mulberry32), so a failure can be replayed byte for byte. */
function noise(length: number, seed: number): Uint8Array {
  let state = seed >>> 0;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    bytes[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return bytes;
}

function message(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

/**
 * A valid update from a stranger's client: new text in a root type nobody else uses, so it needs
 * nothing the server lacks and would show up in the stored document if it were ever applied.
 */
function strangerUpdate(text: string, withDeletion: boolean): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = 424242;
  doc.gc = false;
  doc.getText('hostile').insert(0, text);
  if (withDeletion) doc.getText('hostile').delete(1, 2);
  return Y.encodeStateAsUpdate(doc);
}

const validUpdate = strangerUpdate('this must never be stored', true);
// The structs of this update are complete; only the delete set at its end is cut short. Yjs
// integrates the structs before it reads the delete set, so a server that merely catches the
// exception from applyUpdate has already changed its document.
const truncatedDeleteSet = validUpdate.slice(0, validUpdate.length - 1);
const truncatedStructs = validUpdate.slice(0, Math.floor(validUpdate.length / 2));
const garbageUpdate = noise(64, 7);
const oversizedUpdate = strangerUpdate('x'.repeat(MAX_MESSAGE_BYTES + 4096), false);

interface HostileCase {
  readonly name: string;
  readonly send: (socket: RawSocket) => void;
  readonly closeCodes: readonly number[];
}

const cases: HostileCase[] = [
  {
    name: 'random bytes',
    send: (socket) => {
      const bytes = noise(512, 1);
      bytes[0] = 0x40 | (bytes[0]! & 0x3f); // a message type no protocol version defines
      socket.send(bytes);
    },
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'random bytes after a sync-update header',
    send: (socket) => socket.send(Uint8Array.of(0, 2, ...noise(509, 2))),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'a message type varint that never ends',
    send: (socket) => socket.send(Uint8Array.of(0xff, 0xff, 0xff)),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'a sync message cut inside its length prefix',
    send: (socket) => socket.send(Uint8Array.of(MessageType.sync, 2, 0x80)),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'a sync update carrying garbage',
    send: (socket) => socket.send(updateMessage(garbageUpdate)),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'a sync update whose structs are truncated',
    send: (socket) => socket.send(updateMessage(truncatedStructs)),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'a sync update whose delete set is truncated',
    send: (socket) => socket.send(updateMessage(truncatedDeleteSet)),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'a sync step 2 whose delete set is truncated',
    send: (socket) =>
      socket.send(
        message((e) => {
          encoding.writeVarUint(e, MessageType.sync);
          encoding.writeVarUint(e, 1);
          encoding.writeVarUint8Array(e, truncatedDeleteSet);
        }),
      ),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'a sync update with a huge length prefix',
    send: (socket) =>
      socket.send(
        message((e) => {
          encoding.writeVarUint(e, MessageType.sync);
          encoding.writeVarUint(e, 2);
          encoding.writeVarUint(e, 2 ** 32);
          encoding.writeUint8Array(e, noise(16, 3));
        }),
      ),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'an awareness message with a huge length prefix',
    send: (socket) =>
      socket.send(
        message((e) => {
          encoding.writeVarUint(e, MessageType.awareness);
          encoding.writeVarUint(e, 2 ** 31);
          encoding.writeUint8Array(e, noise(16, 4));
        }),
      ),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'an awareness state that is not JSON',
    send: (socket) =>
      socket.send(
        awarenessMessage(
          message((e) => {
            encoding.writeVarUint(e, 1);
            encoding.writeVarUint(e, 77);
            encoding.writeVarUint(e, 1);
            encoding.writeVarString(e, '{"user": ');
          }),
        ),
      ),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'an unknown message type',
    send: (socket) => socket.send(Uint8Array.of(9, 0, 0)),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'an unknown sync message type',
    send: (socket) => socket.send(Uint8Array.of(MessageType.sync, 7, 0)),
    closeCodes: BAD_MESSAGE,
  },
  {
    name: 'a text frame',
    send: (socket) => socket.send('{"type":"sync"}'),
    closeCodes: [1003],
  },
  {
    name: 'a message over MEND_MAX_MESSAGE_BYTES in one frame',
    send: (socket) => socket.send(updateMessage(oversizedUpdate)),
    closeCodes: [1009],
  },
  {
    name: 'a message over MEND_MAX_MESSAGE_BYTES sent in small fragments',
    send: (socket) => {
      const whole = updateMessage(oversizedUpdate);
      const fragment = 8_192;
      for (let offset = 0; offset < whole.length; offset += fragment) {
        const end = Math.min(offset + fragment, whole.length);
        socket.send(whole.subarray(offset, end), { fin: end === whole.length });
      }
    },
    closeCodes: [1009],
  },
];

let server: MendServer;
let couple: Couple;

beforeAll(async () => {
  server = await startServer({ env: { MEND_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) } });
  couple = await createCouple(server);
});

afterAll(async () => {
  await server?.dispose();
});

describe('the hostile messages themselves', () => {
  it('are what they claim: invalid to Yjs, or over the size limit', () => {
    for (const update of [garbageUpdate, truncatedStructs, truncatedDeleteSet]) {
      expect(() => Y.decodeUpdate(update)).toThrow();
    }
    // The truncated delete set leaves every struct intact: a naive apply would integrate them.
    const naive = new Y.Doc();
    expect(() => Y.applyUpdate(naive, truncatedDeleteSet)).toThrow();
    expect(naive.getText('hostile').length).toBeGreaterThan(0);
    expect(updateMessage(oversizedUpdate).length).toBeGreaterThan(MAX_MESSAGE_BYTES);
  });
});

describe('a socket that sends hostile input', () => {
  for (const { name, send, closeCodes } of cases) {
    it(`closes the socket that sends ${name}, while the server keeps serving the partners and stores nothing of it`, async () => {
      const a = openProvider(server, couple.spaceId, couple.a.token);
      const b = openProvider(server, couple.spaceId, couple.b.token);
      const partnerCloses: number[] = [];
      const watchCloses = (provider: WebsocketProvider) =>
        provider.on('connection-close', (event) => partnerCloses.push(event?.code ?? -1));
      watchCloses(a.provider);
      watchCloses(b.provider);
      let expected: Y.Doc;
      try {
        await Promise.all([waitForSynced(a.provider), waitForSynced(b.provider)]);
        expected = copyDoc(b.doc);

        const attacker = await openRawSocket(server, couple.spaceId, { token: couple.a.token });
        await rawSync(attacker);
        send(attacker);
        const closed = await attacker.waitForClose();
        expect(closeCodes).toContain(closed.code);

        expect((await get(server, '/healthz')).status).toBe(200);
        const edit = `edit after ${closed.code} ${Date.now()}`;
        a.doc.once('update', (update: Uint8Array) => Y.applyUpdate(expected, update));
        a.doc.getText('notes').insert(0, edit);
        await waitForDoc(
          b.doc,
          () => b.doc.getText('notes').toString().startsWith(edit),
          "A's edit at B after the attack",
        );
        expect(partnerCloses).toEqual([]);

        // The live room too: a half-applied update would show here even if nothing was stored.
        const live = await fetchDocument(server, couple.spaceId, couple.b.token);
        expect(live.getText('hostile').toString()).toBe('');
        expect(sameDocument(live, expected)).toBe(true);
      } finally {
        a.provider.destroy();
        b.provider.destroy();
      }

      server = await server.restart();
      const stored = await fetchDocument(server, couple.spaceId, couple.b.token);
      expect(stored.getText('hostile').toString()).toBe('');
      expect(sameDocument(stored, expected)).toBe(true);
    });
  }
});

describe('the message size limit', () => {
  it('accepts a valid message just under MEND_MAX_MESSAGE_BYTES and relays it', async () => {
    const a = openProvider(server, couple.spaceId, couple.a.token);
    const b = openProvider(server, couple.spaceId, couple.b.token);
    try {
      await Promise.all([waitForSynced(a.provider), waitForSynced(b.provider)]);
      const big = 'y'.repeat(MAX_MESSAGE_BYTES - 1_024);
      a.doc.getText('big').insert(0, big);
      await waitForDoc(
        b.doc,
        () => b.doc.getText('big').length === big.length,
        'the big edit at B',
      );
      expect(b.doc.getText('big').toString()).toBe(big);
    } finally {
      a.provider.destroy();
      b.provider.destroy();
    }
  });
});

describe('the auth message type', () => {
  it('is ignored: the socket stays open and keeps syncing', async () => {
    const socket = await openRawSocket(server, couple.spaceId, { token: couple.b.token });
    socket.send(
      message((e) => {
        encoding.writeVarUint(e, MessageType.auth);
        encoding.writeVarUint(e, 0);
        encoding.writeVarString(e, 'let me in');
      }),
    );
    await rawSync(socket);
    expect(socket.isOpen).toBe(true);
    socket.close();
  });
});
