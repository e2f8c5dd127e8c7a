import { setDisplayName } from '@mend/model';
import { decodeEnvelope, EnvelopeKind } from '@mend/protocol';
import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import type { OutboxEntry } from '../local/records.js';
import { encodeMemberPayload } from '../payloads.js';
import { memoryHeld } from './heldChanges.js';
import { LocalSealing } from './LocalSealing.js';
import { Outbox } from './Outbox.js';
import {
  ALEX,
  createdAndJoined,
  Device,
  newSpace,
  providerOptionsOf,
} from './testing/sealedSpace.js';

// What a page writes into the space, on its own: sealed into the page's stream while connected,
// held while not, and a device's statements after whatever is held (the provider's tests cover
// the same through a socket).

function sealingFor(device: Device, held = false) {
  const sent: OutboxEntry[] = [];
  const state = { open: true, changed: 0 };
  const outbox = new Outbox();
  const writes = new LocalSealing({
    doc: device.doc,
    options: {
      ...providerOptionsOf(device, outbox),
      openSocket: () => {
        throw new Error('no socket here');
      },
      held: held ? memoryHeld() : null,
    },
    isOpen: () => state.open,
    isSynced: () => state.open,
    isDestroyed: () => false,
    send: (entry) => sent.push(entry),
    changed: () => state.changed++,
    carried: () => {},
  });
  writes.begin();
  const kinds = () => sent.map((entry) => decodeEnvelope(entry.envelope).kind);
  return { writes, sent, state, outbox, kinds };
}

/** What renaming Alex writes to `doc`, as one update (not applied to `doc` itself). */
function renameUpdate(doc: Y.Doc, displayName: string): Uint8Array {
  const copy = new Y.Doc();
  copy.clientID = doc.clientID;
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  const before = Y.encodeStateVector(copy);
  setDisplayName(copy, { partnerId: ALEX, displayName });
  return Y.encodeStateAsUpdate(copy, before);
}

describe('LocalSealing', () => {
  it('seals a change made while connected into the page’s stream and sends it, counted as waiting until acknowledged', async () => {
    const { alex } = createdAndJoined();
    const { writes, sent, outbox } = sealingFor(alex);
    const stream = alex.doc.clientID;
    writes.change(renameUpdate(alex.doc, 'Alex at the window'));
    expect(writes.waiting).toBe(1);
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    const envelope = decodeEnvelope(sent[0]!.envelope);
    expect(envelope).toMatchObject({ kind: EnvelopeKind.update, stream, counter: 1 });
    outbox.acknowledge(stream, 1);
    expect(writes.waiting).toBe(0);
  });

  it('starts a new stream when the document’s client id already wrote to the log', () => {
    const { alex } = createdAndJoined();
    const used = alex.doc.clientID;
    expect(alex.replica.knowsStream(used)).toBe(true);
    sealingFor(alex);
    expect(alex.doc.clientID).not.toBe(used);
    expect(alex.replica.knowsStream(alex.doc.clientID)).toBe(false);
  });

  it('holds a change made while not connected, and a member statement made after it waits and goes after it', async () => {
    const { alex } = createdAndJoined();
    const { writes, state, kinds, outbox } = sealingFor(alex, true);
    state.open = false;
    await writes.holdingReady();
    writes.change(renameUpdate(alex.doc, 'Alex, offline'));
    expect(writes.waiting).toBe(1);
    expect(kinds()).toEqual([]);

    const statement = { partnerId: ALEX, agreementKey: alex.identity.agreement.publicKey };
    writes.seal(EnvelopeKind.member, encodeMemberPayload(statement));
    expect(writes.memberOnItsWay).toBe(true);
    expect(kinds()).toEqual([]);
    expect(outbox.size).toBe(0);

    state.open = true;
    writes.next();
    await vi.waitFor(() => expect(kinds()).toEqual([EnvelopeKind.update, EnvelopeKind.member]));
    // In the outbox until the server acknowledges it.
    expect(writes.memberOnItsWay).toBe(true);
    expect(outbox.size).toBe(2);
  });

  it('seals nothing for a device its own log removed', () => {
    const { alex, sam } = createdAndJoined();
    sam.newEpoch([alex.identity]);
    alex.sync();
    const { writes, kinds } = sealingFor(alex);
    writes.change(renameUpdate(alex.doc, 'Alex, after'));
    expect(writes.waiting).toBe(0);
    expect(kinds()).toEqual([]);
  });

  it('announces a device the log does not name once, and one it names or that is on its way not again', async () => {
    const space = newSpace();
    const creator = new Device(space, ALEX, space.creator);
    const { writes, sent, kinds } = sealingFor(creator);
    writes.announce();
    writes.announce();
    await vi.waitFor(() => expect(kinds()).toEqual([EnvelopeKind.member]));
    space.log.append(sent[0]!.envelope);
    creator.sync();
    writes.announce();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(kinds()).toEqual([EnvelopeKind.member]);
  });
});
