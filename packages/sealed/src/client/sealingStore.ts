import type { PartnerId, SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import { equalBytes } from '../bytes.js';
import { randomBytes } from '../crypto.js';
import { newDeviceIdentity, type DeviceIdentity, type IdentityWithBytes } from '../identity.js';
import { newInviteSecret } from '../invite.js';
import { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import { newSeatSecret } from '../reveal.js';
import { newSpaceKey } from '../SpaceKeyring.js';
import { encodeMembership } from './membershipCodec.js';
import { SealedReplica } from './SealedReplica.js';
import type { SealedMembership } from './sealedSpaces.js';
import {
  decodeSealingRecord,
  encodeSealingRecord,
  type PendingSeal,
  type SealingRecord,
} from './sealingRecord.js';

/*
 * What a device keeps on its side of converting a plaintext space (docs/protocol.md,
 * "Converting a plaintext space"), in the space's `LocalSpaceStore` database: its keys for the
 * space before it is sealed and the conversion it started (the sealing record, sealed at rest),
 * then the sealed copy its plaintext copy becomes.
 */

export interface SealingStoreOptions {
  /** Defaults to `globalThis.indexedDB`. */
  readonly indexedDB?: IDBFactory;
}

/**
 * This device's keys for a plaintext space it will help seal: made on first call, then the same
 * ones on every later call and page load, kept in the space's `LocalSpaceStore` database sealed
 * at rest (several tabs asking at once all get the first one stored). A stored record that
 * cannot be read is replaced by new keys (the device then offers those). Rejects with a
 * LocalStoreError when IndexedDB fails.
 */
export async function loadOrMakeSealingIdentity(
  spaceId: SpaceId,
  options: SealingStoreOptions = {},
): Promise<IdentityWithBytes> {
  const store = await LocalSpaceStore.open(spaceId, options);
  try {
    const bytes = await store.updateSealing((current) =>
      readable(current) === null
        ? encodeSealingRecord({ identity: newDeviceIdentity(), pending: null })
        : null,
    );
    return decodeSealingRecord(bytes!).identity;
  } finally {
    store.close();
  }
}

/**
 * Forgets this device's sealing keys for the space (and a conversion it started), and the
 * space's database with them when it holds nothing else. `adoptPlaintextCopy` forgets them by
 * itself; this is for a device leaving a space that was never sealed.
 */
export async function forgetSealingIdentity(
  spaceId: SpaceId,
  options: SealingStoreOptions = {},
): Promise<void> {
  if (!(await LocalSpaceStore.exists(spaceId, options))) return;
  const store = await LocalSpaceStore.open(spaceId, options);
  try {
    await store.dropSealing();
    const loaded = await store.load();
    if (loaded.secrets === null && loaded.docState === null && loaded.outbox.length === 0) {
      await store.destroy();
    }
  } finally {
    store.close();
  }
}

/** The log's first envelopes, as the server stored them. */
export interface LoggedEnvelope {
  readonly seq: number;
  readonly bytes: Uint8Array;
}

export interface AdoptInput {
  readonly membership: SealedMembership;
  /** The plaintext document: its state becomes the sealed copy's and is carried over. */
  readonly doc: Y.Doc;
  /** `SealResult.log`, on the device that sealed the space: its replica starts there. */
  readonly log?: readonly LoggedEnvelope[] | null;
}

/**
 * Makes this device's plaintext copy its sealed copy, in one write (`LocalSpaceStore
 * .adoptPlaintextCopy`): the membership's secrets, the document's state, the replica's state
 * after `log` (so the space opens offline at once and `hello` asks only for what follows), and
 * the copy to carry over: the first `SealedSession` synced with this device's member statement
 * seals what of it the log lacks as a carried envelope (`ProviderOptions.carry`). The sealing
 * record goes with it. Resolves false, writing nothing, when this device already holds the
 * space's secrets (adopted before: `SealedSession.open` reads those). The plaintext database
 * (y-indexeddb's) is the caller's to delete once this resolved.
 */
export async function adoptPlaintextCopy(
  input: AdoptInput,
  options: SealingStoreOptions = {},
): Promise<boolean> {
  const docState = Y.encodeStateAsUpdate(input.doc);
  const { membership } = input;
  let replica = null;
  if (input.log && input.log.length > 0) {
    const started = new SealedReplica({
      doc: new Y.Doc(),
      keyring: membership.keyring,
      creator: membership.creator,
    });
    for (const entry of input.log) started.receiveOwn(entry.seq, entry.bytes);
    replica = { since: started.since, state: started.exportState() };
  }
  const store = await LocalSpaceStore.open(membership.spaceId, options);
  try {
    return await store.adoptPlaintextCopy({
      docState,
      replica,
      carry: docState,
      secrets: encodeMembership(membership),
    });
  } finally {
    store.close();
  }
}

/**
 * Adds a change made on the page while `adoptPlaintextCopy` ran (the document it read had not
 * got it yet) to the adopted copy and to what is carried over.
 */
export async function carryMore(
  spaceId: SpaceId,
  update: Uint8Array,
  options: SealingStoreOptions = {},
): Promise<void> {
  const store = await LocalSpaceStore.open(spaceId, options);
  try {
    await store.carryMore(update);
  } finally {
    store.close();
  }
}

/**
 * The conversion this device started for `partnerId`, or a new one, stored before it is used
 * (whichever attempt lands, this device holds its space key). Null when the sealing record
 * does not hold `identity`: the keys being used are not the ones this device keeps.
 */
export async function pendingSeal(
  input: {
    readonly spaceId: SpaceId;
    readonly partnerId: PartnerId;
    readonly identity: DeviceIdentity;
    /** The plaintext document: the stream is a client id none of its structs uses. */
    readonly doc: Y.Doc;
  },
  options: SealingStoreOptions,
): Promise<PendingSeal | null> {
  const store = await LocalSpaceStore.open(input.spaceId, options);
  try {
    const bytes = await store.updateSealing((current) => {
      const record = readable(current);
      if (record === null || !sameIdentity(record.identity, input.identity)) return null;
      if (record.pending?.partnerId === input.partnerId) return null;
      return encodeSealingRecord({
        identity: record.identity,
        pending: {
          partnerId: input.partnerId,
          stream: freshStream(input.doc),
          spaceKey: newSpaceKey(),
          seatSecret: newSeatSecret(),
          inviteSecret: newInviteSecret(),
        },
      });
    });
    const record = readable(bytes);
    return record !== null && sameIdentity(record.identity, input.identity) ? record.pending : null;
  } finally {
    store.close();
  }
}

/** The conversion this device started, if any (null also when there is no record at all). */
export async function loadPending(
  spaceId: SpaceId,
  options: SealingStoreOptions,
): Promise<PendingSeal | null> {
  if (!(await LocalSpaceStore.exists(spaceId, options))) return null;
  const store = await LocalSpaceStore.open(spaceId, options);
  try {
    return readable(await store.loadSealing())?.pending ?? null;
  } finally {
    store.close();
  }
}

/** Another device sealed the space: this device's attempt will never land. */
export async function dropPending(spaceId: SpaceId, options: SealingStoreOptions): Promise<void> {
  const store = await LocalSpaceStore.open(spaceId, options);
  try {
    await store.updateSealing((current) => {
      const record = readable(current);
      return record?.pending ? encodeSealingRecord({ ...record, pending: null }) : null;
    });
  } finally {
    store.close();
  }
}

function readable(bytes: Uint8Array | null): SealingRecord | null {
  if (bytes === null) return null;
  try {
    return decodeSealingRecord(bytes);
  } catch {
    return null;
  }
}

/** A client id no struct of the plaintext document uses. */
function freshStream(doc: Y.Doc): number {
  for (;;) {
    const bytes = randomBytes(4);
    const id = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
    if (!doc.store.clients.has(id)) return id;
  }
}

export function sameIdentity(a: DeviceIdentity, b: DeviceIdentity): boolean {
  return (
    equalBytes(a.signing.publicKey, b.signing.publicKey) &&
    equalBytes(a.agreement.publicKey, b.agreement.publicKey)
  );
}
