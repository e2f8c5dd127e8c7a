// Test support only (excluded from the build): what the epoch tests of SealedReplica (removal,
// recovery links, catching up across a key change) set up alike.
import { EnvelopeKind } from '@mend/protocol';
import { sha256 } from '../../crypto.js';
import { sealEnvelope } from '../../envelopes.js';
import type { SpaceKeyring } from '../../SpaceKeyring.js';
import { createdAndJoined, linkedDevice, type Device, type Space } from './sealedSpace.js';

/** A snapshot of `from`'s log, sealed with `keyring` (its own by default) under `epoch`. */
export function snapshotOf(
  from: Device,
  space: Space,
  keyring: SpaceKeyring = from.keyring,
  epoch?: number,
): Uint8Array {
  const coversSeq = from.replica.since;
  return sealEnvelope({
    identity: from.identity,
    keyring,
    ...(epoch === undefined ? {} : { epoch }),
    kind: EnvelopeKind.snapshot,
    stream: from.doc.clientID,
    counter: 0,
    covers: { seq: coversSeq, hash: sha256(space.log.entries[coversSeq - 1]!) },
    payload: from.replica.snapshot()!.payload,
  }).bytes;
}

/** Alex and Sam, Alex's phone linked and announced, everyone synced. */
export function withPhone() {
  const world = createdAndJoined();
  const phone = linkedDevice(world.alex);
  world.alex.sync();
  world.sam.sync();
  return { ...world, phone };
}
