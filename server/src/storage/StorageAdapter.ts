import type { PartnerId, SpaceId } from '@mend/protocol';
import type { DeviceLinkStore } from './DeviceLinkStore.js';
import type { DeviceStore } from './DeviceStore.js';
import type { EpochBoxStore } from './EpochBoxStore.js';
import type { SealedEntry, SealedLog } from './SealedLog.js';

/**
 * A space's document as a log of Yjs updates, compacted now and then into a snapshot: the
 * byte-moving half of storage, and all that DocStore needs. Merging updates, deciding when to
 * compact and validating input live once, above this interface (see DocStore). Every adapter
 * passes the same contract suite (`updateLogContract.testkit.ts`).
 *
 * A log belongs to a space in the SpaceDirectory: writes to a space the directory does not hold
 * are refused, so a deletion is never undone by a late write.
 *
 * Durability: a promise that resolves means the write is durable (committed). Two server
 * processes may touch the same space at once, so every multi-row change is one transaction.
 */
export interface UpdateLog {
  /** The latest snapshot (if any) and every update appended after it, in append order. */
  loadDoc(spaceId: SpaceId): Promise<StoredDoc>;
  /**
   * Appends one update; resolves with its sequence number (increasing within a space, never
   * reused, even after a snapshot). Rejects when the space does not exist (e.g. it was deleted
   * while a socket was still open), so a deletion is never undone by a late write, and when it is
   * sealed, so no late write (of another process) puts plaintext back into a converted space.
   */
  appendUpdate(spaceId: SpaceId, update: Uint8Array): Promise<number>;
  /**
   * In one transaction: stores `snapshot` as the space's snapshot and deletes every update with
   * `seq <= upToSeq`. Updates appended meanwhile (higher seq) are kept, so nothing is lost.
   * A snapshot with a lower `upToSeq` than the stored one is ignored: when two processes compact
   * the same space, the one that read less must not overwrite the one that read more. So is a
   * snapshot of a space sealed meanwhile (sealPlaintextSpace).
   */
  replaceWithSnapshot(spaceId: SpaceId, snapshot: Uint8Array, upToSeq: number): Promise<void>;
  /**
   * Deletes the space: its updates and snapshot, and with them (one database, one transaction)
   * its entry in the directory, its partners, their tokens and document checks, and for a sealed
   * space its devices, envelopes, stream heads, snapshot, device links, recovery challenges,
   * failed recovery attempts and epoch boxes. Unknown: no-op.
   */
  deleteSpace(spaceId: SpaceId): Promise<void>;
  /** Bytes of document data stored for a space (snapshot + updates), for metrics and reports. */
  storedBytes(spaceId: SpaceId): Promise<number>;
}

/**
 * Who belongs where: spaces, their partners, the hashes of their tokens and invites, and the
 * record of which partners' documents were brought up to date. Read by the HTTP edge to
 * authorize a request and by the spaces module to create, join and prepare a space. Every
 * adapter passes the same contract suite (`spaceDirectoryContract.testkit.ts`).
 */
export interface SpaceDirectory {
  /** Stores a new space and its first partner in one transaction. */
  createSpace(space: NewSpace, firstPartner: NewPartner): Promise<void>;
  getSpace(spaceId: SpaceId): Promise<SpaceRecord | null>;
  /**
   * Adds the second partner if, in one transaction, the invite is still unused and the space has
   * fewer than MAX_PARTNERS (@mend/model); marks the invite used. Never lets two joins both succeed.
   * A used invite answers 'invite-used' (checked before the partner count).
   */
  addPartner(spaceId: SpaceId, partner: NewPartner, usedAt: number): Promise<AddPartnerResult>;
  listPartners(spaceId: SpaceId): Promise<PartnerRecord[]>;
  /**
   * Looks a partner up by the SHA-256 hash of their token (the token itself is never stored).
   * A revoked token finds nothing.
   */
  findPartnerByTokenHash(tokenHash: Uint8Array): Promise<PartnerRecord | null>;
  /**
   * Revokes a plaintext space's partner's token for good (the device left the space): it finds
   * nothing from now on. The partner stays, in listPartners and in the document. False, changing
   * nothing, when the space has no such partner or it was revoked already.
   */
  revokePartner(spaceId: SpaceId, partnerId: PartnerId, at: number): Promise<boolean>;

  /**
   * The document schema version at which this partner was last found present in their space's
   * document (the check before serving a partner; see Spaces.prepare), or null if never.
   * Remembered so that a restart does not rebuild every document just to check it again.
   */
  getDocCheck(spaceId: SpaceId, partnerId: PartnerId): Promise<number | null>;
  /** Records that check. An unknown space or partner is ignored. A deleted space's checks go. */
  recordDocCheck(spaceId: SpaceId, partnerId: PartnerId, schemaVersion: number): Promise<void>;

  /**
   * Stores a new sealed space (no name) and its first device in one transaction. A sealed space
   * has devices and no partner rows; a plaintext space partner rows and no devices.
   */
  createSealedSpace(space: NewSealedSpace, firstDevice: NewDevice): Promise<void>;
  /**
   * Adds the second partner's device to a sealed space, like addPartner: the invite works once,
   * a space holds MAX_PARTNERS partners, and the welcome box goes once the invite is used.
   * Rejects for a space that does not exist or is not sealed.
   */
  addSealedPartner(spaceId: SpaceId, device: NewDevice, usedAt: number): Promise<AddPartnerResult>;
  /**
   * Hands the welcome box to the joining device before it joins (docs/protocol.md, "The welcome
   * box and joining"). The first time, for the invite's hash: the invite hash becomes `joinHash`
   * (the hash of a join code the device chose) and the hand-over time is kept. Again, for
   * `joinHash` (the same device retrying after a lost answer): the same box. The box stays until
   * the join. Returns null, changing nothing, for anything else (not sealed, invite used, another
   * code). Two first fetches at once: one gets the box.
   */
  handOverWelcome(
    spaceId: SpaceId,
    inviteHash: Uint8Array,
    joinHash: Uint8Array,
    at: number,
  ): Promise<Uint8Array | null>;
  /**
   * Gives a device of a sealed space a new token (the hash replaces the old one), for a join
   * retried after its answer was lost. False when the space has no device with both keys, or
   * that device was revoked (a removed device never gets a token again).
   */
  renewDeviceToken(
    spaceId: SpaceId,
    keys: { signingKey: Uint8Array; agreementKey: Uint8Array },
    tokenHash: Uint8Array,
  ): Promise<boolean>;
  /** A sealed space's devices, in the order they were added (ties in no particular order). */
  listDevices(spaceId: SpaceId): Promise<DeviceRecord[]>;
  /** Looks a device up by the SHA-256 hash of its token. A revoked device's token finds nothing. */
  findDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRecord | null>;
  /**
   * Whether this token was a sealed space's device's, now revoked (it left, or another device
   * removed it): what lets `GET /sync/:spaceId` tell a removed device so, where an unknown token
   * learns nothing (docs/api.md).
   */
  isRevokedDeviceToken(tokenHash: Uint8Array): Promise<boolean>;
  /**
   * Revokes a sealed space's device for good (it left the space): its token finds nothing and
   * renewDeviceToken refuses it. The device stays in listDevices, holding its seat, as the
   * partners' membership log still names it; a recovery device's kit box and the device's epoch
   * boxes go. False, changing
   * nothing, when the space has no device with this signing key or it was revoked already.
   */
  revokeDevice(spaceId: SpaceId, signingKey: Uint8Array, at: number): Promise<boolean>;
  /**
   * The box of the space key a converting device left for this device (sealPlaintextSpace), or
   * null: a device that joined, created or converted the space has none.
   */
  getKeyBox(spaceId: SpaceId, signingKey: Uint8Array): Promise<Uint8Array | null>;

  /**
   * Converts a plaintext space into a sealed one (docs/protocol.md, "Converting a plaintext
   * space"), in one transaction: the space becomes sealed without a name; its invite is replaced
   * by `seal.invite` (unused), or else spent, so the old link stops working; each listed partner
   * gets a device row holding that partner's existing token hash (their cookie keeps working) and
   * its key box, the converting device first in listDevices; the two envelopes become seq 1 and 2
   * of the sealed log; and the plaintext goes: updates, snapshot, document checks and partner
   * rows with their display names. Refused, changing nothing, when the space does not exist, is
   * sealed already, `seal.devices` does not name exactly its partners that are not revoked, or
   * `seal.invite` is given for a space that does not wait for its second partner (one partner,
   * invite unused) or left out for one that does. Two conversions at once: one wins.
   * Deleted plaintext is overwritten where the engine can (SQLite's secure_delete, then a WAL
   * truncation; PostgreSQL vacuums the tables after the commit; docs/security.md).
   */
  sealPlaintextSpace(spaceId: SpaceId, seal: PlaintextSeal, at: number): Promise<SealResult>;
}

/** What converting a plaintext space stores (SpaceDirectory.sealPlaintextSpace). */
export interface PlaintextSeal {
  /**
   * One per partner of the space that is not revoked: the device that takes the seat, the
   * converting device first. It is added at the conversion's time, the others a millisecond
   * later, so that every engine lists it first (listDevices orders by time), as it lists a
   * sealed space's creating device.
   */
  readonly devices: readonly SealingDevice[];
  /** The converting device's member statement and the genesis: seq 1 and 2 of the sealed log. */
  readonly envelopes: readonly [SealedEntry, SealedEntry];
  /** A new sealed invite (SHA-256 of its code, and its welcome box), or null. */
  readonly invite: { readonly inviteHash: Uint8Array; readonly welcome: Uint8Array } | null;
}

/** A partner's device as the converting device lists it. */
export interface SealingDevice {
  readonly partnerId: PartnerId;
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
  /** The space key boxed to `agreementKey`; null for the converting device. */
  readonly keyBox: Uint8Array | null;
}

/** Why a conversion was refused. */
export const SealRefusal = {
  noSpace: 'no-space',
  sealedAlready: 'sealed-already',
  /** The listed devices do not name exactly the space's partners that are not revoked. */
  partnersChanged: 'partners-changed',
  /** A new invite for a space that does not wait for its partner, or none for one that does. */
  inviteMismatch: 'invite-mismatch',
} as const;
export type SealRefusal = (typeof SealRefusal)[keyof typeof SealRefusal];

export type SealResult =
  { readonly sealed: true } | { readonly sealed: false; readonly reason: SealRefusal };

/**
 * Whether a conversion may go ahead, decided by every adapter inside its transaction: the
 * listing names exactly `partners` (the space's partners that are not revoked), each once, and
 * brings a new invite exactly when the space waits for its second partner. Then each partner's
 * token hash (their device keeps it) and each device's time of adding.
 */
export function sealSeats(
  partners: readonly { partnerId: string; tokenHash: Uint8Array }[],
  inviteUsed: boolean,
  seal: PlaintextSeal,
  at: number,
): { refused: SealRefusal } | { devices: (Omit<NewDevice, 'spaceId'> & SealingDevice)[] } {
  const tokens = new Map(partners.map((p) => [p.partnerId as PartnerId, p.tokenHash]));
  const listed = new Set(seal.devices.map((d) => d.partnerId));
  const exact =
    listed.size === seal.devices.length &&
    listed.size === tokens.size &&
    [...listed].every((partnerId) => tokens.has(partnerId));
  if (!exact) return { refused: SealRefusal.partnersChanged };
  const waitsForPartner = tokens.size === 1 && !inviteUsed;
  if (waitsForPartner !== (seal.invite !== null)) return { refused: SealRefusal.inviteMismatch };
  return {
    devices: seal.devices.map((device, i) => ({
      ...device,
      tokenHash: tokens.get(device.partnerId) ?? new Uint8Array(),
      addedAt: i === 0 ? at : at + 1,
    })),
  };
}

/**
 * A storage engine (SQLite, PostgreSQL, memory): every part over one database connection, so
 * a space's log and its directory entry change together. Consumers depend on the half they use.
 */
export interface StorageAdapter extends UpdateLog, SpaceDirectory, SealedLog {
  /** Device links of sealed spaces, over the same connection. */
  readonly links: DeviceLinkStore;
  /** The devices' list, removal and recovery kits of sealed spaces, over the same connection. */
  readonly devices: DeviceStore;
  /** The epoch boxes left for sealed spaces' devices, over the same connection. */
  readonly epochBoxes: EpochBoxStore;
  /** Creates the tables if missing. Safe to call from several processes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface NewSpace {
  spaceId: SpaceId;
  name: string | null;
  createdAt: number;
  /** SHA-256 of the invite code. */
  inviteHash: Uint8Array;
}

export interface SpaceRecord extends NewSpace {
  inviteUsedAt: number | null;
  /** End-to-end encrypted (docs/protocol.md): no name, devices instead of partner rows. */
  sealed: boolean;
  /** Sealed spaces, until the invite is used: the welcome box the joining device opens. */
  welcome: Uint8Array | null;
  /** Sealed spaces: when a device took the welcome box before joining (the invite then waits for it). */
  welcomeTakenAt: number | null;
}

export interface NewSealedSpace {
  spaceId: SpaceId;
  createdAt: number;
  /** SHA-256 of the invite code. */
  inviteHash: Uint8Array;
  /** The welcome box (ciphertext the server cannot open), handed to the joining device once. */
  welcome: Uint8Array;
}

/** A device of a sealed space: the seat it holds, its public keys and its token's hash. */
export interface NewDevice {
  spaceId: SpaceId;
  partnerId: PartnerId;
  /** Ed25519 public key: the device's identity, and the `author` of its envelopes. */
  signingKey: Uint8Array;
  /** X25519 public key, for boxes to this device. */
  agreementKey: Uint8Array;
  /** SHA-256 of the device's token. */
  tokenHash: Uint8Array;
  addedAt: number;
}

export type DeviceRecord = NewDevice;

export interface NewPartner {
  partnerId: PartnerId;
  spaceId: SpaceId;
  displayName: string;
  /** SHA-256 of the partner's token. */
  tokenHash: Uint8Array;
  joinedAt: number;
}

export type PartnerRecord = NewPartner;

export type AddPartnerResult = 'added' | 'invite-used' | 'space-full';

export interface StoredDoc {
  snapshot: Uint8Array | null;
  updates: { seq: number; data: Uint8Array }[];
}
