import { agreementTexts, proposeAgreement, type AgreementId } from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ALEX, createdAndJoined, Device, SAM, snapshotOf, T0 } from './testing/sealedSpace.js';

/**
 * One character under `client` at `clock` whose origin and right origin are both `neighbour`,
 * in Yjs's v1 encoding, as a hostile device would write it by hand.
 */
function itemBetweenOneCharacter(client: number, clock: number, neighbour: Y.ID): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1); // one client group
  encoding.writeVarUint(encoder, 1); // of one struct
  encoding.writeVarUint(encoder, client);
  encoding.writeVarUint(encoder, clock);
  encoding.writeUint8(encoder, 0x80 | 0x40 | 4); // origin, right origin, a string
  for (let i = 0; i < 2; i++) {
    encoding.writeVarUint(encoder, neighbour.client);
    encoding.writeVarUint(encoder, neighbour.clock);
  }
  encoding.writeVarString(encoder, 'w');
  encoding.writeVarUint(encoder, 0); // no deletions
  return encoding.toUint8Array(encoder);
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
      hostile.seal(EnvelopeKind.update, itemBetweenOneCharacter(hostile.doc.clientID, clock, b)),
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
