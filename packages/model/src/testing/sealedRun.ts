// Test support only (excluded from the build): a sealed space in miniature. Devices write
// through the model, a sequencer orders what they send into one log (as the server will), and
// every device checks each update against its replica of the log before applying it.
import * as Y from 'yjs';
import { checkRemoteUpdate, type UpdateAuthor, type UpdateVerdict } from '../authorship.js';
import { checkRemoteUpdateByReplica } from '../authorshipOracle.js';
import type { IdGenerator, PartnerId } from '../ids.js';
import { addPartner, initSpace } from '../space.js';
import { A, B, T0, counterIds, deviceKeyOf } from './fixtures.js';
import { performHonestly, type HonestOp } from './honestOps.js';

/**
 * One device: its working document (with its own edits at once) and its own Yjs client id,
 * writing as one partner, and its replica of the log (what it checks updates against).
 */
export class Device {
  readonly doc: Y.Doc;
  replica = new Y.Doc();
  readonly author: UpdateAuthor;
  readonly newId: IdGenerator;
  /** Its own updates not yet sequenced. */
  readonly unsent: Uint8Array[] = [];
  /** Its own clock when it last sent (for state-vector diffs). */
  sent = 0;
  /** How many log entries it has received. */
  cursor = 0;

  constructor(
    readonly name: string,
    readonly partnerId: PartnerId,
    client: number,
  ) {
    this.doc = new Y.Doc();
    this.doc.clientID = client;
    this.author = { partnerId, clientIds: new Set([client]) };
    this.newId = counterIds(`${name}-id-`);
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== FROM_LOG) this.unsent.push(update);
    });
  }
}

export interface LogEntry {
  readonly update: Uint8Array;
  readonly author: UpdateAuthor;
  /** The device that sent it, or null for a forgery. */
  readonly from: Device | null;
  /** The verdict of the sequenced replica, and of the oracle on the same state. */
  readonly verdict: UpdateVerdict;
  readonly oracle: UpdateVerdict;
}

const FROM_LOG = Symbol('log');

export type SendMode = 'each' | 'merged' | 'diff';

/** What a device sends at once. */
export interface Batch {
  readonly update: Uint8Array;
  readonly device: Device;
}

export class SealedRun {
  /** The sequenced log applied in order, accepted updates only: what every device converges to. */
  readonly sequenced = new Y.Doc();
  readonly log: LogEntry[] = [];
  readonly devices: readonly Device[];
  /** Devices whose verdict on a log entry differed from the sequenced replica's. */
  readonly disagreements: string[] = [];
  #time = T0;

  /** Partner A creates the space on device a1, B joins on b1; a2 and b2 are second devices. */
  constructor() {
    const a1 = new Device('a1', A, 1);
    const a2 = new Device('a2', A, 2);
    const b1 = new Device('b1', B, 3);
    const b2 = new Device('b2', B, 4);
    this.devices = [a1, a2, b1, b2];
    initSpace(a1.doc, { name: 'Our space', createdAt: T0 });
    addPartner(a1.doc, { id: A, displayName: 'Alex', joinedAt: T0, color: '#aa3355' });
    this.send(a1, 'merged');
    this.deliver(b1);
    addPartner(b1.doc, { id: B, displayName: 'Sam', joinedAt: T0 + 1, color: '#3355aa' });
    this.send(b1, 'merged');
    for (const device of this.devices) this.deliver(device);
  }

  perform(device: Device, op: HonestOp): void {
    performHonestly(device.doc, device.partnerId, op, (this.#time += 1000), device.newId, {
      answersReveals: device.name.endsWith('1'),
      setsShared: device.name === 'a1',
      deviceKey: deviceKeyOf(device.name),
    });
  }

  /** `fn` writes on the device; what it wrote is sent as one entry and reaches every device. */
  write(device: Device, fn: (doc: Y.Doc) => void): LogEntry {
    this.deliver(device);
    fn(device.doc);
    const [entry] = this.send(device, 'merged');
    for (const other of this.devices) this.deliver(other);
    if (!entry) throw new Error(`${device.name} wrote nothing`);
    return entry;
  }

  device(name: string): Device {
    const device = this.devices.find((d) => d.name === name);
    if (!device) throw new Error(`no device ${name}`);
    return device;
  }

  /** Sequences what the device has not sent yet (see `take`). */
  send(device: Device, mode: SendMode = 'each'): LogEntry[] {
    return this.take(device, mode).map((batch) => this.post(batch.update, device.author, batch));
  }

  /**
   * What the device has not sent yet, as it would send it: each update as written, merged into
   * one (an outbox), or encoded from its own clock at the last send (a state-vector diff: it
   * carries the document's whole delete set, and values written then removed as deleted).
   */
  take(device: Device, mode: SendMode): Batch[] {
    const updates = device.unsent.splice(0);
    const own = device.doc.clientID;
    const sentBefore = device.sent;
    device.sent = Y.getState(device.doc.store, own);
    if (updates.length === 0) return [];
    switch (mode) {
      case 'each':
        return updates.map((update) => ({ update, device }));
      case 'merged':
        return [{ update: Y.mergeUpdates(updates), device }];
      case 'diff': {
        const vector = Y.decodeStateVector(Y.encodeStateVector(device.doc));
        vector.set(own, sentBefore);
        const update = Y.encodeStateAsUpdate(device.doc, Y.encodeStateVector(vector));
        return [{ update, device }];
      }
      default: {
        const unreachable: never = mode;
        throw new Error(`unknown mode ${String(unreachable)}`);
      }
    }
  }

  /** Puts an update in the log, as the server would whatever it holds; the replica checks it. */
  post(update: Uint8Array, author: UpdateAuthor, batch: Batch | null = null): LogEntry {
    const entry: LogEntry = {
      update,
      author,
      from: batch?.device ?? null,
      verdict: checkRemoteUpdate(this.sequenced, update, author),
      oracle: checkRemoteUpdateByReplica(this.sequenced, update, author),
    };
    if (entry.verdict.ok) Y.applyUpdate(this.sequenced, update, FROM_LOG);
    this.log.push(entry);
    return entry;
  }

  /**
   * The device receives up to `count` further log entries and checks each against its replica
   * of the log, its own included; what it accepts goes into the replica, and what others wrote
   * into its working document too.
   */
  deliver(device: Device, count = Infinity): void {
    while (device.cursor < this.log.length && count-- > 0) {
      const index = device.cursor++;
      const entry = this.log[index]!;
      const verdict = checkRemoteUpdate(device.replica, entry.update, entry.author);
      if (verdict.ok !== entry.verdict.ok) {
        this.disagreements.push(
          `${device.name} on entry ${index}: ${JSON.stringify(verdict)} vs ${JSON.stringify(entry.verdict)}`,
        );
      }
      if (!verdict.ok) continue;
      Y.applyUpdate(device.replica, entry.update);
      if (entry.from !== device) Y.applyUpdate(device.doc, entry.update, FROM_LOG);
    }
  }

  /** The device loads its replica afresh from a snapshot of it, as after a restart. */
  reload(device: Device): void {
    const snapshot = Y.encodeStateAsUpdate(device.replica);
    device.replica.destroy();
    device.replica = new Y.Doc();
    Y.applyUpdate(device.replica, snapshot);
  }
}

/**
 * An update written by `fn` on a copy of `doc` under Yjs client `client`: what a device holding
 * the sequenced log could send, honest or not.
 */
export function writtenOn(doc: Y.Doc, client: number, fn: (copy: Y.Doc) => void): Uint8Array {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  // After the state: Yjs gives a document a new client id when an update brings its own.
  copy.clientID = client;
  const before = Y.encodeStateVector(copy);
  fn(copy);
  const update = Y.encodeStateAsUpdate(copy, before);
  copy.destroy();
  return update;
}
