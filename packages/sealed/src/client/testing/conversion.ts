// Test support only (excluded from the build): a space made before sealed spaces, converted by
// Alex's device, and Sam's device arriving with what it wrote offline.
import { addPartner, initSpace, offerSealingKeys } from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import * as Y from 'yjs';
import { ALEX, Device, newSpace, SAM, T0, type Space } from './sealedSpace.js';

export const key = (c: string) => c.repeat(42) + 'A';

/** A space made before sealed spaces, as both partners' devices hold it: synced, with offers. */
export function plaintextSpace(): { alexPlain: Y.Doc; samPlain: Y.Doc } {
  const alexPlain = new Y.Doc();
  initSpace(alexPlain, { name: 'Old space', createdAt: T0 });
  addPartner(alexPlain, { id: ALEX, displayName: 'Alex', joinedAt: T0, color: '#aa3355' });
  addPartner(alexPlain, { id: SAM, displayName: 'Sam', joinedAt: T0 + 1, color: '#3355aa' });
  offerSealingKeys(alexPlain, { partnerId: ALEX, signingKey: key('a'), agreementKey: key('b') });
  const samPlain = new Y.Doc();
  Y.applyUpdate(samPlain, Y.encodeStateAsUpdate(alexPlain));
  offerSealingKeys(samPlain, { partnerId: SAM, signingKey: key('c'), agreementKey: key('d') });
  plainSync(alexPlain, samPlain);
  return { alexPlain, samPlain };
}

export function plainSync(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
}

/**
 * Alex's device converts: its working document is its plaintext copy, and it stores its member
 * statement and the genesis (that copy) at counters 1 and 2 of its stream, as seq 1 and 2.
 */
export function converted(alexPlain: Y.Doc): { space: Space; alex: Device } {
  const space = newSpace();
  const alex = new Device(space, ALEX, space.creator);
  Y.applyUpdate(alex.doc, Y.encodeStateAsUpdate(alexPlain));
  alex.announce();
  alex.publish(EnvelopeKind.carried, Y.encodeStateAsUpdate(alexPlain));
  alex.sync();
  return { space, alex };
}

/**
 * Sam's device learns of it: takes the log in, announces itself and carries what its plaintext
 * copy has beyond what the log holds; its copy then becomes its working document.
 */
export function samArrives(space: Space, samPlain: Y.Doc): Device {
  const sam = new Device(space, SAM);
  sam.sync();
  sam.announce();
  const carried = sam.replica.notInLog(Y.encodeStateAsUpdate(samPlain));
  Y.applyUpdate(sam.doc, Y.encodeStateAsUpdate(samPlain));
  if (carried) sam.publish(EnvelopeKind.carried, carried);
  sam.sync();
  return sam;
}

/** What `change` writes on a copy of `doc` under client id `client`. */
export function writtenAs(doc: Y.Doc, client: number, change: (doc: Y.Doc) => void): Uint8Array {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  copy.clientID = client;
  const before = Y.encodeStateVector(copy);
  change(copy);
  return Y.encodeStateAsUpdate(copy, before);
}
