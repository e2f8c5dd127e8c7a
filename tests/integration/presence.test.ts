import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import { createCouple, gauge, type Couple } from '../support/api.js';
import {
  MessageType,
  awarenessMessage,
  messageKind,
  openRawSocket,
  rawSync,
  type RawSocket,
} from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';

interface Entry {
  clientId: number;
  clock: number;
  /** JSON text; "null" removes the state. */
  state: string;
}

function presence(entries: readonly Entry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientId);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, entry.state);
  }
  return awarenessMessage(encoding.toUint8Array(encoder));
}

/** The entries of a presence message the server sent, or none for any other message. */
function entriesOf(message: Uint8Array): Entry[] {
  if (messageKind(message)[0] !== MessageType.awareness) return [];
  const outer = decoding.createDecoder(message);
  decoding.readVarUint(outer);
  const decoder = decoding.createDecoder(decoding.readVarUint8Array(outer));
  const entries: Entry[] = [];
  for (let n = decoding.readVarUint(decoder); n > 0; n -= 1) {
    entries.push({
      clientId: decoding.readVarUint(decoder),
      clock: decoding.readVarUint(decoder),
      state: decoding.readVarString(decoder),
    });
  }
  return entries;
}

/** Asks the server for the space's presence and waits for the answer: earlier messages are done. */
async function askPresence(socket: RawSocket): Promise<Entry[]> {
  const before = socket.messages.length;
  socket.send(Uint8Array.of(MessageType.queryAwareness));
  const answer = await socket.nextMessage(
    (message) =>
      socket.messages.indexOf(message) >= before &&
      messageKind(message)[0] === MessageType.awareness,
    'the answer to a presence query',
  );
  return entriesOf(answer);
}

const ALEX_STATE = JSON.stringify({ user: { name: 'Alex' } });

let server: MendServer | undefined;
const sockets: RawSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await server?.dispose();
  server = undefined;
});

async function connect(couple: Couple, who: 'a' | 'b'): Promise<RawSocket> {
  const socket = await openRawSocket(server!, couple.spaceId, { token: couple[who].token });
  sockets.push(socket);
  await rawSync(socket);
  return socket;
}

describe('presence on a real server', () => {
  it("one partner's device can neither remove nor rewrite the other partner's presence", async () => {
    server = await startServer();
    const couple = await createCouple(server);
    const alex = await connect(couple, 'a');
    const sam = await connect(couple, 'b');

    alex.send(presence([{ clientId: 111, clock: 1, state: ALEX_STATE }]));
    await sam.nextMessage(
      (m) => entriesOf(m).some((e) => e.clientId === 111),
      "Alex's presence at Sam's device",
    );
    sam.send(presence([{ clientId: 111, clock: 2, state: 'null' }]));
    sam.send(presence([{ clientId: 111, clock: 3, state: '{"user":{"name":"Not Alex"}}' }]));

    // Sam's own query is answered after the server handled both forged messages.
    expect(await askPresence(sam)).toContainEqual({ clientId: 111, clock: 1, state: ALEX_STATE });
    const late = await connect(couple, 'b');
    expect(await askPresence(late)).toContainEqual({
      clientId: 111,
      clock: 1,
      state: ALEX_STATE,
    });
    // Alex's device never heard of a removal or a rewrite of its own state.
    expect(
      alex.messages.flatMap(entriesOf).filter((e) => e.clientId === 111 && e.clock > 1),
    ).toEqual([]);
    expect(
      await gauge(server, 'mend_rejected_messages_total{reason="awareness-not-owned"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(sam.isOpen).toBe(true);
  });

  it('closes a socket sending more presence entries in one message than allowed with 4413, and the partner stays', async () => {
    server = await startServer();
    const couple = await createCouple(server);
    const alex = await connect(couple, 'a');
    const sam = await connect(couple, 'b');
    const flood = Array.from({ length: 17 }, (_, i) => ({
      clientId: 222,
      clock: i + 1,
      state: ALEX_STATE,
    }));
    sam.send(presence(flood));
    expect((await sam.waitForClose()).code).toBe(4413);
    alex.send(presence([{ clientId: 111, clock: 1, state: ALEX_STATE }]));
    expect(await askPresence(alex)).toContainEqual({ clientId: 111, clock: 1, state: ALEX_STATE });
  });

  it('counts a malformed presence message, closes its socket with 4400, and logs no warning', async () => {
    server = await startServer();
    const couple = await createCouple(server);
    const sam = await connect(couple, 'b');
    sam.send(presence([{ clientId: 5, clock: 1, state: '{"user": ' }]));
    expect((await sam.waitForClose()).code).toBe(4400);
    expect(await gauge(server, 'mend_rejected_messages_total{reason="malformed-awareness"}')).toBe(
      1,
    );
    const warnings = server.logs.filter((line) => Number(line.level) >= 40);
    expect(warnings).toEqual([]);
  });
});
