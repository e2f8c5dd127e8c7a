import { agreementTexts, proposeAgreement, type AgreementId } from '@mend/model';
import { encodeUpdate } from '@mend/model/testing';
import { EnvelopeKind } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { decodeReplicaState } from './replicaState.js';
import { SetAsideReason } from './SealedReplica.js';
import {
  ALEX,
  createdAndJoined,
  Device,
  SAM,
  sealedSnapshot,
  snapshotOf,
  T0,
} from './testing/sealedSpace.js';

/**
 * One character under `client` at `clock` between `origin` and `rightOrigin`, in Yjs's v1
 * encoding, as a hostile device would write it by hand.
 */
function oneCharacter(client: number, clock: number, origin: Y.ID, rightOrigin: Y.ID): Uint8Array {
  return encodeUpdate([{ client, clock, structs: [{ text: 'w', origin, rightOrigin }] }]);
}

/**
 * Two items under `client` from `clock`, as a hostile device would write them by hand: three
 * characters between `left` and `right`, then one whose origin is the last of the three and
 * whose right origin the middle one (so it names two characters of its own update in reverse).
 */
function itemBetweenItsOwnInReverse(client: number, clock: number, left: Y.ID, right: Y.ID) {
  const structs = [
    { text: 'vvv', origin: left, rightOrigin: right },
    {
      text: 'w',
      origin: Y.createID(client, clock + 2),
      rightOrigin: Y.createID(client, clock + 1),
    },
  ];
  return encodeUpdate([{ client, clock, structs }]);
}

describe('a sealed space and an item that names one character on both sides', () => {
  it('is set aside on every device, so a fresh device loading a snapshot shows the same text', () => {
    const { space, alex, sam } = createdAndJoined();
    // Yjs loads a state highest client id first: the hostile device is the lower one, so a
    // fresh device would integrate its item after the honest edits sequenced later.
    const [hostile, honest] = alex.doc.clientID < sam.doc.clientID ? [alex, sam] : [sam, alex];
    let id = '' as AgreementId;
    honest.edit((doc) => {
      id = proposeAgreement(doc, {
        title: 'Phones',
        body: 'abc',
        by: honest.partnerId,
        at: T0 + 10,
      });
    });
    hostile.sync();
    const body = agreementTexts(hostile.doc, id).body;
    const b = Y.createRelativePositionFromTypeIndex(body, 1).item!;
    const clock = Y.getState(hostile.doc.store, hostile.doc.clientID);
    const seq = hostile.space.log.append(
      hostile.seal(EnvelopeKind.update, oneCharacter(hostile.doc.clientID, clock, b, b)),
    );
    // The honest device writes concurrently (before it took the crafted item in).
    honest.edit((doc) => agreementTexts(doc, id).body.insert(1, 'X'));
    honest.edit((doc) => agreementTexts(doc, id).body.insert(3, 'Y'));
    honest.sync();
    hostile.sync();

    const fresh = new Device(space, honest.partnerId, honest.identity);
    expect(fresh.replica.receive(honest.replica.since, snapshotOf(honest, space))).toEqual({
      kind: 'snapshot',
    });
    const texts = [honest, hostile, fresh].map((d) => agreementTexts(d.doc, id).body.toString());
    expect(texts).toEqual(['aXbYc', 'aXbYc', 'aXbYc']);
    for (const device of [honest, hostile]) {
      expect(device.replica.setAside.map((s) => s.seq)).toContain(seq);
    }
    expect([ALEX, SAM]).toContain(hostile.partnerId);
  });
});

describe('a sealed space and an item that names two characters of its own update in reverse', () => {
  it('is set aside on every device, the logs stay as they were, and a fresh device loading a snapshot shows the same text', () => {
    const { space, alex, sam } = createdAndJoined();
    const [hostile, honest] = [alex, sam];
    let id = '' as AgreementId;
    honest.edit((doc) => {
      id = proposeAgreement(doc, { title: 'Phones', body: 'abc', by: honest.partnerId, at: T0 });
    });
    hostile.sync();
    const body = agreementTexts(hostile.doc, id).body;
    const [a, b] = [0, 1].map((i) => Y.createRelativePositionFromTypeIndex(body, i).item!);
    const clock = Y.getState(hostile.doc.store, hostile.doc.clientID);
    const crafted = itemBetweenItsOwnInReverse(hostile.doc.clientID, clock, a!, b!);
    const seq = hostile.space.log.append(hostile.seal(EnvelopeKind.update, crafted));
    // The honest device takes it in (or not), then types after its third character; the
    // hostile device carries on honestly with the clocks it used.
    honest.sync();
    honest.edit((doc) => agreementTexts(doc, id).body.insert(3, 'X'));
    hostile.edit((doc) => agreementTexts(doc, id).body.insert(0, 'Y'));
    honest.sync();
    hostile.sync();

    for (const device of [honest, hostile]) {
      expect(device.replica.setAside.find((s) => s.seq === seq)).toMatchObject({
        reason: SetAsideReason.refused,
        detail: 'an item’s right neighbour does not lie after its left neighbour in the same list',
      });
      expect(device.replica.notInLog(crafted)).not.toBeNull();
    }
    const snapshot = honest.replica.snapshot()!;
    const fresh = new Device(space, honest.partnerId, honest.identity);
    const sealed = sealedSnapshot(honest, space, snapshot.covers.seq, snapshot.payload);
    expect(fresh.replica.receive(honest.replica.since, sealed)).toEqual({ kind: 'snapshot' });
    const texts = [honest, hostile, fresh].map((d) => agreementTexts(d.doc, id).body.toString());
    expect(texts).toEqual(['YabcX', 'YabcX', 'YabcX']);
    // Every log holds the hostile device's honest character at the clock the crafted one took.
    const logClocks = [honest, hostile, fresh].map((d) => {
      const { log } = decodeReplicaState(d.replica.exportState());
      return Object.fromEntries(Y.decodeStateVector(Y.encodeStateVectorFromUpdate(log)));
    });
    expect(logClocks[0]![hostile.doc.clientID]).toBe(clock + 1);
    expect(logClocks).toEqual([logClocks[0], logClocks[0], logClocks[0]]);
    // The next envelopes apply alike on a device that followed the log and one that loaded it.
    honest.edit((doc) => agreementTexts(doc, id).body.insert(2, 'Z'));
    hostile.sync();
    fresh.sync();
    expect([hostile, fresh].map((d) => agreementTexts(d.doc, id).body.toString())).toEqual([
      'YaZbcX',
      'YaZbcX',
    ]);
  });
});

describe('a sealed space and an item whose neighbours lie around characters its writer had', () => {
  it('is set aside on every device, and a fresh device loading a snapshot shows the same text', () => {
    const { space, alex, sam } = createdAndJoined();
    const [hostile, honest] = [alex, sam];
    let id = '' as AgreementId;
    honest.edit((doc) => {
      id = proposeAgreement(doc, { title: 'Phones', body: 'abcde', by: honest.partnerId, at: T0 });
    });
    hostile.sync();
    // An honest v between d and e, then a crafted w between a and v: b, c and d lie between,
    // and the hostile device had them (v names d; b and c are older than d).
    hostile.edit((doc) => agreementTexts(doc, id).body.insert(4, 'v'));
    const body = agreementTexts(hostile.doc, id).body;
    const [a, v] = [0, 4].map((i) => Y.createRelativePositionFromTypeIndex(body, i).item!);
    const clock = Y.getState(hostile.doc.store, hostile.doc.clientID);
    const crafted = oneCharacter(hostile.doc.clientID, clock, a!, v!);
    const seq = hostile.space.log.append(hostile.seal(EnvelopeKind.update, crafted));
    // The honest device writes concurrently, after d and after b, before it took v or w in.
    honest.edit((doc) => agreementTexts(doc, id).body.insert(4, 'X'));
    honest.edit((doc) => agreementTexts(doc, id).body.insert(2, 'Y'));
    honest.sync();
    hostile.sync();

    for (const device of [honest, hostile]) {
      expect(device.replica.setAside.find((s) => s.seq === seq)).toMatchObject({
        reason: SetAsideReason.refused,
        detail: 'an item’s neighbours lie around characters its writer already had',
      });
    }
    const snapshot = honest.replica.snapshot()!;
    const fresh = new Device(space, honest.partnerId, honest.identity);
    const sealed = sealedSnapshot(honest, space, snapshot.covers.seq, snapshot.payload);
    expect(fresh.replica.receive(honest.replica.since, sealed)).toEqual({ kind: 'snapshot' });
    const texts = [honest, hostile, fresh].map((d) => agreementTexts(d.doc, id).body.toString());
    expect(texts).toEqual([texts[0], texts[0], texts[0]]);
    expect(texts[0]).not.toContain('w');
  });
});
