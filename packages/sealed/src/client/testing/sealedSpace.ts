// Test support only (excluded from the build): devices of a sealed space around an in-memory
// log that plays the server (orders and stores; no crypto), so replicas can be fed any sequence.
import { addPartner, initSpace, type PartnerId } from '@mend/model';
import { EnvelopeKind, type SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import { sha256 } from '../../crypto.js';
import { sealEnvelope } from '../../envelopes.js';
import { newDeviceIdentity, type DeviceIdentity } from '../../identity.js';
import { fromBase64Url, toBase64Url } from '../../bytes.js';
import { sealEpochBox } from '../../epochBox.js';
import {
  encodeEpochPayload,
  encodeLinkPayload,
  encodeMemberPayload,
  encodeRecoveryLinkPayload,
  encodeReturnPayload,
  encodeRulesPayload,
  encodeSnapshotPayload,
  type EpochPayload,
} from '../../payloads.js';
import { newSpaceKey, SpaceKeyring } from '../../SpaceKeyring.js';
import { StreamWriter } from '../../StreamWriter.js';
import type { Outbox } from '../Outbox.js';
import { REMOTE, SealedReplica, type Receipt, type RulesBook } from '../SealedReplica.js';

export const spaceId = 'sealedspace_0123456789' as SpaceId;
export const ALEX = 'partnerAAAAAAAAAAAAA' as PartnerId;
export const SAM = 'partnerBBBBBBBBBBBBB' as PartnerId;
export const T0 = Date.UTC(2026, 10, 1, 9, 0, 0);

/** The kinds of envelope a device chains into its stream. */
export type SealedKind =
  | typeof EnvelopeKind.update
  | typeof EnvelopeKind.member
  | typeof EnvelopeKind.keys
  | typeof EnvelopeKind.carried;

/** The server's part: a list of stored envelopes, seq = index + 1. */
export class MemoryLog {
  readonly entries: Uint8Array[] = [];

  append(bytes: Uint8Array): number {
    this.entries.push(bytes);
    return this.entries.length;
  }
}

export interface Space {
  readonly log: MemoryLog;
  readonly spaceKey: Uint8Array;
  readonly creator: DeviceIdentity;
}

export function newSpace(): Space {
  return { log: new MemoryLog(), spaceKey: newSpaceKey(), creator: newDeviceIdentity() };
}

/**
 * One device: its document, its replica, and a writer for its stream. `edit` seals what the
 * change wrote into the log, as the provider would; `sync` takes in everything after `since`.
 */
export class Device {
  readonly doc = new Y.Doc();
  readonly replica: SealedReplica;
  readonly keyring = new SpaceKeyring(spaceId);
  readonly writer: StreamWriter;
  readonly receipts: Receipt[] = [];
  readonly #own = new Set<number>();

  constructor(
    readonly space: Space,
    readonly partnerId: PartnerId,
    readonly identity: DeviceIdentity = newDeviceIdentity(),
    /** The versions of the rules it knows: this build's unless given. */
    rules?: RulesBook,
  ) {
    this.keyring.add(1, space.spaceKey);
    this.replica = new SealedReplica({
      doc: this.doc,
      keyring: this.keyring,
      creator: space.creator.signing.publicKey,
      identity: this.identity,
      ...(rules ? { rules } : {}),
    });
    this.writer = new StreamWriter(this.doc.clientID);
  }

  seal(kind: SealedKind, payload: Uint8Array): Uint8Array {
    const { counter, prev } = this.writer.next();
    const sealed = sealEnvelope({
      identity: this.identity,
      keyring: this.keyring,
      kind,
      stream: this.doc.clientID,
      counter,
      prev,
      payload,
    });
    this.writer.advance(sealed);
    return sealed.bytes;
  }

  /** Seals and stores, as the provider and the server would; returns the seq. */
  publish(kind: SealedKind, payload: Uint8Array): number {
    const seq = this.space.log.append(this.seal(kind, payload));
    this.#own.add(seq);
    return seq;
  }

  announce(): number {
    return this.publish(
      EnvelopeKind.member,
      encodeMemberPayload({
        partnerId: this.partnerId,
        agreementKey: this.identity.agreement.publicKey,
      }),
    );
  }

  /** Publishes a link statement bringing `other` into `partnerId`'s seat (this one's by default). */
  link(other: DeviceIdentity, partnerId: PartnerId = this.partnerId): number {
    return this.publish(
      EnvelopeKind.keys,
      encodeLinkPayload({
        partnerId,
        signingKey: other.signing.publicKey,
        agreementKey: other.agreement.publicKey,
      }),
    );
  }

  /** Publishes a recovery link bringing `kit` (the recovery device's keys) into this seat. */
  recoveryLink(kit: DeviceIdentity, partnerId: PartnerId = this.partnerId): number {
    return this.publish(
      EnvelopeKind.keys,
      encodeRecoveryLinkPayload({
        partnerId,
        signingKey: kit.signing.publicKey,
        agreementKey: kit.agreement.publicKey,
      }),
    );
  }

  /** Publishes a return statement bringing `device` back into `partnerId`'s seat (the other one). */
  returnLink(device: DeviceIdentity, partnerId: PartnerId): number {
    return this.publish(
      EnvelopeKind.keys,
      encodeReturnPayload({
        partnerId,
        signingKey: device.signing.publicKey,
        agreementKey: device.agreement.publicKey,
      }),
    );
  }

  /** Publishes a rules statement: the space is judged by `version` from its seq on. */
  stateRules(version: number): number {
    return this.publish(EnvelopeKind.keys, encodeRulesPayload(version));
  }

  /**
   * The epoch statement this device would write now: the next epoch, removing `removed`, a
   * fresh key boxed to every device that stays as its replica lists them.
   */
  epochStatement(removed: readonly DeviceIdentity[] = []): {
    statement: EpochPayload;
    spaceKey: Uint8Array;
  } {
    const spaceKey = newSpaceKey();
    const epoch = this.replica.standing.epoch + 1;
    const gone = new Set(removed.map((d) => toBase64Url(d.signing.publicKey)));
    const boxes = this.replica.standing
      .staying()
      .filter((d) => !gone.has(d.signingKey))
      .map((d) => ({
        signingKey: fromBase64Url(d.signingKey, 32),
        box: sealEpochBox(d.agreementKey, { spaceId, epoch, spaceKey }),
      }));
    const statement = { epoch, removed: removed.map((d) => d.signing.publicKey), boxes };
    return { statement, spaceKey };
  }

  /** Publishes an epoch statement (`epochStatement`, or as `change` alters it); returns its seq. */
  newEpoch(
    removed: readonly DeviceIdentity[] = [],
    change: (statement: EpochPayload) => EpochPayload = (s) => s,
  ): { seq: number; spaceKey: Uint8Array } {
    const { statement, spaceKey } = this.epochStatement(removed);
    const seq = this.publish(EnvelopeKind.keys, encodeEpochPayload(change(statement)));
    return { seq, spaceKey };
  }

  /** Runs `change` on the document and seals what it wrote as one update envelope. */
  sealEdit(change: (doc: Y.Doc) => void): Uint8Array {
    const updates: Uint8Array[] = [];
    const collect = (u: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE) updates.push(u);
    };
    this.doc.on('update', collect);
    try {
      change(this.doc);
    } finally {
      this.doc.off('update', collect);
    }
    return this.seal(EnvelopeKind.update, Y.mergeUpdates(updates));
  }

  /** Runs `change` and publishes what it wrote as one update envelope; returns its seq. */
  edit(change: (doc: Y.Doc) => void): number {
    const seq = this.space.log.append(this.sealEdit(change));
    this.#own.add(seq);
    return seq;
  }

  /** Takes in every stored envelope after `since`, its own through `receiveOwn`. */
  sync(): Receipt[] {
    const taken: Receipt[] = [];
    for (let seq = this.replica.since + 1; seq <= this.space.log.entries.length; seq++) {
      const bytes = this.space.log.entries[seq - 1]!;
      taken.push(
        this.#own.has(seq) ? this.replica.receiveOwn(seq, bytes) : this.replica.receive(seq, bytes),
      );
    }
    this.receipts.push(...taken);
    return taken;
  }
}

/** What a SealedProvider of `device` is opened with, its socket and the rest aside. */
export function providerOptionsOf(device: Device, outbox: Outbox) {
  return {
    replica: device.replica,
    awareness: null,
    identity: device.identity,
    keyring: device.keyring,
    outbox,
    partnerId: device.partnerId,
  };
}

/**
 * A second device of `of`'s seat, linked by `of` (its link statement in the log), announced and
 * synced: as a device that collected the link box would be once it synced past the link.
 */
export function linkedDevice(of: Device): Device {
  const identity = newDeviceIdentity();
  of.link(identity);
  const device = new Device(of.space, of.partnerId, identity);
  device.sync();
  device.announce();
  device.sync();
  return device;
}

/** Alex creates the space and Sam joins, each announcing their device and writing their seat. */
export function createdAndJoined(): { space: Space; alex: Device; sam: Device } {
  const space = newSpace();
  const alex = new Device(space, ALEX, space.creator);
  alex.announce();
  alex.edit((doc) => {
    initSpace(doc, { name: 'Our space', createdAt: T0 });
    addPartner(doc, { id: ALEX, displayName: 'Alex', joinedAt: T0, color: '#aa3355' });
  });
  const sam = new Device(space, SAM);
  sam.sync();
  sam.announce();
  sam.edit((doc) => {
    addPartner(doc, { id: SAM, displayName: 'Sam', joinedAt: T0 + 1000, color: '#3355aa' });
  });
  alex.sync();
  sam.sync();
  return { space, alex, sam };
}

/**
 * The snapshot `from` seals of `state` (its working document's when left out) with its
 * replica's coverage, covering seq `coversSeq` (all its replica took in when left out).
 */
export function snapshotOf(
  from: Device,
  space: Space,
  coversSeq = from.replica.since,
  state = Y.encodeStateAsUpdate(from.doc),
): Uint8Array {
  const payload = encodeSnapshotPayload({ yjsState: state, ...from.replica.coverage() });
  return sealedSnapshot(from, space, coversSeq, payload);
}

/** A snapshot envelope `from` seals of `payload`, covering seq `coversSeq`. */
export function sealedSnapshot(
  from: Device,
  space: Space,
  coversSeq: number,
  payload: Uint8Array,
): Uint8Array {
  return sealEnvelope({
    identity: from.identity,
    keyring: from.keyring,
    kind: EnvelopeKind.snapshot,
    stream: from.doc.clientID,
    counter: 0,
    covers: { seq: coversSeq, hash: sha256(space.log.entries[coversSeq - 1]!) },
    payload,
  }).bytes;
}

/** A presence envelope with any payload, as a device (or one that does not run Mend) could send. */
export function presenceByHand(
  device: Pick<Device, 'identity' | 'keyring'>,
  stream: number,
  counter: number,
  json: string,
): Uint8Array {
  return sealEnvelope({
    identity: device.identity,
    keyring: device.keyring,
    kind: EnvelopeKind.presence,
    stream,
    counter,
    payload: new TextEncoder().encode(json),
  }).bytes;
}
