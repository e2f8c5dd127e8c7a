import * as decoding from 'lib0/decoding';
import type WebSocket from 'ws';
import { Awareness, applyAwarenessUpdate } from 'y-protocols/awareness';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCouple, type Couple } from '../support/api.js';
import {
  MessageType,
  UpgradeRefused,
  messageKind,
  fetchDocument,
  openProvider,
  openRawSocket,
  rawSync,
  sameDocument,
  waitForAwareness,
  waitForDoc,
  waitForSynced,
  type RawSocket,
} from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';

let server: MendServer;
const providers: WebsocketProvider[] = [];
const rawSockets: RawSocket[] = [];

function connect(couple: Couple, who: 'a' | 'b', doc?: Y.Doc) {
  const client = openProvider(server, couple.spaceId, couple[who].token, doc ? { doc } : {});
  providers.push(client.provider);
  return client;
}

function agreementTitle(doc: Y.Doc, id: string): string | undefined {
  const agreement = doc.getMap<Y.Map<unknown>>('agreements').get(id);
  const title = agreement?.get('title');
  return title instanceof Y.Text ? title.toString() : undefined;
}

function addAgreement(doc: Y.Doc, id: string, title: string): void {
  doc.transact(() => {
    const agreement = new Y.Map<unknown>();
    agreement.set('title', new Y.Text(title));
    agreement.set('body', new Y.Text(''));
    agreement.set('createdAt', '2026-11-26T20:00:00.000Z');
    doc.getMap('agreements').set(id, agreement);
  });
}

beforeAll(async () => {
  server = await startServer();
});

afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy();
  for (const socket of rawSockets.splice(0)) socket.close();
});

afterAll(async () => {
  await server?.dispose();
});

describe('live sync between the two partners', () => {
  it("a partner's edit reaches the other partner while both are online, both ways", async () => {
    const couple = await createCouple(server);
    const a = connect(couple, 'a');
    const b = connect(couple, 'b');
    await Promise.all([waitForSynced(a.provider), waitForSynced(b.provider)]);

    addAgreement(a.doc, 'agreement-1', 'We tell each other the truth');
    await waitForDoc(
      b.doc,
      () => agreementTitle(b.doc, 'agreement-1') === 'We tell each other the truth',
      "A's agreement at B",
    );

    const title = b.doc.getMap<Y.Map<unknown>>('agreements').get('agreement-1')?.get('title');
    expect(title).toBeInstanceOf(Y.Text);
    (title as Y.Text).insert(0, 'Always: ');
    await waitForDoc(
      a.doc,
      () => agreementTitle(a.doc, 'agreement-1') === 'Always: We tell each other the truth',
      "B's edit at A",
    );
    expect(sameDocument(a.doc, b.doc)).toBe(true);
  });

  it('a partner who connects later receives everything written before', async () => {
    const couple = await createCouple(server);
    const a = connect(couple, 'a');
    await waitForSynced(a.provider);
    addAgreement(a.doc, 'early', 'Written before B arrived');
    const stored = await fetchDocument(server, couple.spaceId, couple.b.token);
    expect(agreementTitle(stored, 'early')).toBe('Written before B arrived');
  });

  it('one token may hold several sockets at once, and they all sync', async () => {
    const couple = await createCouple(server);
    const phone = connect(couple, 'a');
    const laptop = connect(couple, 'a');
    const tablet = connect(couple, 'a');
    const b = connect(couple, 'b');
    await Promise.all([phone, laptop, tablet, b].map((c) => waitForSynced(c.provider)));

    phone.doc.getText('notes').insert(0, 'from the phone');
    await waitForDoc(
      [laptop.doc, tablet.doc, b.doc],
      () =>
        [laptop.doc, tablet.doc, b.doc].every(
          (doc) => doc.getText('notes').toString() === 'from the phone',
        ),
      "the phone's edit on every other socket",
    );
    laptop.doc.getText('notes').insert(0, 'laptop, ');
    await waitForDoc(
      phone.doc,
      () => phone.doc.getText('notes').toString() === 'laptop, from the phone',
      "the laptop's edit on the phone",
    );
    expect(phone.provider.wsconnected && laptop.provider.wsconnected).toBe(true);
  });
});

describe('awareness', () => {
  it('a late joiner receives the awareness state of a partner who is already connected', async () => {
    const couple = await createCouple(server);
    const a = connect(couple, 'a');
    a.provider.awareness.setLocalStateField('user', {
      partnerId: couple.a.partnerId,
      name: 'Alex',
    });
    await waitForSynced(a.provider);

    const b = connect(couple, 'b');
    await waitForAwareness(
      b.provider.awareness,
      () => {
        const state = b.provider.awareness.getStates().get(a.doc.clientID);
        return (state?.user as { name?: string } | undefined)?.name === 'Alex';
      },
      "A's awareness at B",
    );
    expect(b.provider.awareness.getStates().get(a.doc.clientID)?.user).toEqual({
      partnerId: couple.a.partnerId,
      name: 'Alex',
    });
  });

  it('a socket that drops without saying goodbye has its awareness removed at the other partner', async () => {
    const couple = await createCouple(server);
    const a = connect(couple, 'a');
    const b = connect(couple, 'b');
    a.provider.awareness.setLocalStateField('user', { name: 'Alex' });
    await waitForAwareness(
      b.provider.awareness,
      () => b.provider.awareness.getStates().has(a.doc.clientID),
      "A's awareness at B",
    );

    // A vanishes like a phone losing the network: no awareness removal is sent by A itself.
    a.provider.shouldConnect = false;
    (a.provider.ws as unknown as WebSocket).terminate();

    // B would drop the state on its own only after 30 s; the server's relay is what we wait for.
    await waitForAwareness(
      b.provider.awareness,
      () => !b.provider.awareness.getStates().has(a.doc.clientID),
      "the removal of A's awareness at B",
      10_000,
    );
    expect(b.provider.awareness.getStates().has(a.doc.clientID)).toBe(false);
  });
});

describe('query-awareness', () => {
  it('is answered with the awareness states of everyone connected', async () => {
    const couple = await createCouple(server);
    const a = connect(couple, 'a');
    a.provider.awareness.setLocalStateField('user', { name: 'Alex' });
    await waitForSynced(a.provider);

    const raw = await openRawSocket(server, couple.spaceId, { token: couple.b.token });
    rawSockets.push(raw);
    await rawSync(raw);
    raw.messages.length = 0;
    raw.send(Uint8Array.of(MessageType.queryAwareness));
    const seen = new Awareness(new Y.Doc());
    await raw.nextMessage((message) => {
      if (messageKind(message)[0] !== MessageType.awareness) return false;
      const decoder = decoding.createDecoder(message);
      decoding.readVarUint(decoder);
      applyAwarenessUpdate(seen, decoding.readVarUint8Array(decoder), 'server');
      return seen.getStates().has(a.doc.clientID);
    }, "A's awareness in the answer to query-awareness");
    expect(seen.getStates().get(a.doc.clientID)?.user).toEqual({ name: 'Alex' });
  });
});

describe('offline edits', () => {
  it('edits made offline on both sides converge once both reconnect', async () => {
    const couple = await createCouple(server);
    const a = connect(couple, 'a');
    const b = connect(couple, 'b');
    await Promise.all([waitForSynced(a.provider), waitForSynced(b.provider)]);
    a.doc.getText('notes').insert(0, 'shared start');
    await waitForDoc(b.doc, () => b.doc.getText('notes').length > 0, 'the shared start at B');

    a.provider.disconnect();
    b.provider.disconnect();
    a.doc.getText('notes').insert(0, 'A offline. ');
    addAgreement(a.doc, 'from-a', 'A wrote this on the train');
    b.doc.getText('notes').insert(b.doc.getText('notes').length, ' B offline.');
    b.doc.getText('notes').delete(0, 'shared'.length);
    addAgreement(b.doc, 'from-b', 'B wrote this at night');
    expect(sameDocument(a.doc, b.doc)).toBe(false);

    a.provider.connect();
    b.provider.connect();
    await waitForDoc([a.doc, b.doc], () => sameDocument(a.doc, b.doc), 'A and B to converge');

    expect(a.doc.getText('notes').toString()).toBe('A offline.  start B offline.');
    expect(agreementTitle(a.doc, 'from-b')).toBe('B wrote this at night');
    expect(agreementTitle(b.doc, 'from-a')).toBe('A wrote this on the train');
    const stored = await fetchDocument(server, couple.spaceId, couple.a.token);
    expect(sameDocument(stored, a.doc)).toBe(true);
  });
});

describe('sockets per space', () => {
  it('allows at least 16 sockets in one space and refuses sockets past its cap', async () => {
    const couple = await createCouple(server);
    const served: RawSocket[] = [];
    let refusal: string | undefined;

    // Bounded: a cap far above 256 sockets for two people would be no cap at all.
    for (let attempt = 0; attempt < 256 && refusal === undefined; attempt++) {
      const token = attempt % 2 === 0 ? couple.a.token : couple.b.token;
      try {
        const socket = await openRawSocket(server, couple.spaceId, { token });
        rawSockets.push(socket);
        try {
          await rawSync(socket);
          served.push(socket);
        } catch {
          const { code } = await socket.waitForClose();
          refusal = `closed with ${code}`;
        }
      } catch (error) {
        if (!(error instanceof UpgradeRefused)) throw error;
        refusal = `HTTP ${error.status}`;
      }
    }

    expect(served.length).toBeGreaterThanOrEqual(16);
    expect(refusal, 'a socket past the cap is refused').toBeDefined();
    expect(served.every((socket) => socket.isOpen)).toBe(true);

    // Once sockets leave, there is room again.
    for (const socket of served) socket.close();
    await Promise.all(served.map((socket) => socket.waitForClose()));
    let again: Y.Doc | undefined;
    for (let attempt = 0; attempt < 50 && again === undefined; attempt++) {
      try {
        const socket = await openRawSocket(server, couple.spaceId, { token: couple.a.token });
        rawSockets.push(socket);
        again = await rawSync(socket);
      } catch {
        // The server may still be processing the closes; try again.
      }
    }
    expect(again).toBeDefined();
  });
});

// Last: it stops the shared server to read its complete output.
describe('logs', () => {
  it('never contain document text or awareness names', async () => {
    const couple = await createCouple(server);
    const a = connect(couple, 'a');
    const b = connect(couple, 'b');
    const secret = 'I never told you about the letters';
    a.provider.awareness.setLocalStateField('user', { name: 'Zebulon-Private' });
    await Promise.all([waitForSynced(a.provider), waitForSynced(b.provider)]);
    a.doc.getText('notes').insert(0, secret);
    await waitForDoc(b.doc, () => b.doc.getText('notes').toString() === secret, 'the text at B');
    await server.stop();
    const output = server.output.join('\n');
    expect(output).not.toContain(secret);
    expect(output).not.toContain('Zebulon-Private');
  });
});
