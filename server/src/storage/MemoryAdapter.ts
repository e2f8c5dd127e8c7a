import { MAX_PARTNERS } from '@mend/model';
import type { PartnerId, SpaceId } from '@mend/protocol';
import type { DeviceLinkStore, StoredLink } from './DeviceLinkStore.js';
import { MemoryDeviceLinks } from './MemoryDeviceLinks.js';
import { MemoryDevices, type MemoryDeviceMeta } from './MemoryDevices.js';
import type { DeviceStore } from './DeviceStore.js';
import type { EpochBoxStore } from './EpochBoxStore.js';
import { MemoryEpochBoxes, type MemoryEpochBox } from './MemoryEpochBoxes.js';
import { chainStep, resendVerdict, sameBytes, type StreamHead } from './sealedChain.js';
import {
  SnapshotRefusal,
  type SealedAppendResult,
  type SealedEntry,
  type SealedLoad,
  type SealedSnapshot,
  type SnapshotResult,
} from './SealedLog.js';
import {
  SealRefusal,
  sealSeats,
  type AddPartnerResult,
  type DeviceRecord,
  type NewDevice,
  type NewPartner,
  type NewSealedSpace,
  type NewSpace,
  type PartnerRecord,
  type PlaintextSeal,
  type SealResult,
  type SpaceRecord,
  type StorageAdapter,
  type StoredDoc,
} from './StorageAdapter.js';

interface SpaceEntry {
  space: SpaceRecord;
  partners: PartnerRecord[];
  docChecks: Map<PartnerId, number>;
  snapshot: { data: Uint8Array; upToSeq: number } | null;
  updates: { seq: number; data: Uint8Array }[];
  devices: DeviceRecord[];
  /** Key boxes left by a conversion, by device (sealPlaintextSpace). */
  keyBoxes: Map<DeviceRecord, Uint8Array>;
  /** Stored partners and devices whose token was revoked (by identity: they are never handed out). */
  revoked: Set<PartnerRecord | DeviceRecord>;
  sealed: SealedState;
  /** Device links of a sealed space (MemoryDeviceLinks). */
  links: StoredLink[];
  /** What MemoryDevices keeps of each device: times, who removed it, a recovery kit. */
  deviceMeta: Map<DeviceRecord, MemoryDeviceMeta>;
  /** Recovery challenges of a sealed space (MemoryDevices). */
  challenges: { hash: Uint8Array; expiresAt: number }[];
  /** Times of failed recovery attempts (MemoryDevices). */
  recoveryFailures: number[];
  /** The epoch boxes kept for each device (MemoryEpochBoxes); a revocation deletes them. */
  epochBoxes: Map<DeviceRecord, MemoryEpochBox[]>;
}

interface SealedState {
  envelopes: {
    seq: number;
    stream: number;
    counter: number;
    hash: Uint8Array;
    bytes: Uint8Array;
  }[];
  streams: Map<number, StreamHead>;
  snapshot: { coversSeq: number; bytes: Uint8Array } | null;
}

/**
 * Keeps everything in this process's memory: for unit tests, never for couples' data. Copies
 * bytes in and out so callers can never alias what is "stored".
 */
export class MemoryAdapter implements StorageAdapter {
  readonly #spaces = new Map<SpaceId, SpaceEntry>();
  #nextSeq = 1;
  readonly links: DeviceLinkStore = new MemoryDeviceLinks((spaceId) => {
    const entry = this.#spaces.get(spaceId);
    return entry?.space.sealed ? entry : null;
  });
  readonly devices: DeviceStore = new MemoryDevices((spaceId) => {
    const entry = this.#spaces.get(spaceId);
    return entry?.space.sealed ? entry : null;
  });
  readonly epochBoxes: EpochBoxStore = new MemoryEpochBoxes((spaceId) => {
    const entry = this.#spaces.get(spaceId);
    return entry?.space.sealed ? entry : null;
  });

  async migrate(): Promise<void> {}

  async createSpace(space: NewSpace, firstPartner: NewPartner): Promise<void> {
    if (this.#spaces.has(space.spaceId)) throw new Error('a space with this id already exists');
    this.#spaces.set(space.spaceId, {
      ...emptyEntry(),
      space: {
        ...space,
        inviteHash: copy(space.inviteHash),
        inviteUsedAt: null,
        sealed: false,
        welcome: null,
        welcomeTakenAt: null,
      },
      partners: [copyPartner(firstPartner)],
    });
  }

  async createSealedSpace(space: NewSealedSpace, firstDevice: NewDevice): Promise<void> {
    if (this.#spaces.has(space.spaceId)) throw new Error('a space with this id already exists');
    this.#spaces.set(space.spaceId, {
      ...emptyEntry(),
      space: {
        spaceId: space.spaceId,
        name: null,
        createdAt: space.createdAt,
        inviteHash: copy(space.inviteHash),
        inviteUsedAt: null,
        sealed: true,
        welcome: copy(space.welcome),
        welcomeTakenAt: null,
      },
      devices: [copyDevice(firstDevice)],
    });
  }

  async getSpace(spaceId: SpaceId): Promise<SpaceRecord | null> {
    const entry = this.#spaces.get(spaceId);
    if (!entry) return null;
    const { inviteHash, welcome } = entry.space;
    return { ...entry.space, inviteHash: copy(inviteHash), welcome: welcome && copy(welcome) };
  }

  async addPartner(
    spaceId: SpaceId,
    partner: NewPartner,
    usedAt: number,
  ): Promise<AddPartnerResult> {
    const entry = this.#entry(spaceId);
    if (entry.space.sealed) throw new Error('a sealed space has devices, not partner rows');
    if (entry.space.inviteUsedAt !== null) return 'invite-used';
    if (entry.partners.length >= MAX_PARTNERS) return 'space-full';
    entry.partners.push(copyPartner(partner));
    entry.space.inviteUsedAt = usedAt;
    return 'added';
  }

  async addSealedPartner(
    spaceId: SpaceId,
    device: NewDevice,
    usedAt: number,
  ): Promise<AddPartnerResult> {
    const entry = this.#sealedEntry(spaceId);
    if (entry.space.inviteUsedAt !== null) return 'invite-used';
    if (new Set(entry.devices.map((d) => d.partnerId)).size >= MAX_PARTNERS) return 'space-full';
    if (entry.devices.some((d) => sameBytes(d.signingKey, device.signingKey))) {
      throw new Error('a device with this signing key is already in the space');
    }
    entry.devices.push(copyDevice(device));
    entry.space.inviteUsedAt = usedAt;
    entry.space.welcome = null;
    return 'added';
  }

  async handOverWelcome(
    spaceId: SpaceId,
    inviteHash: Uint8Array,
    joinHash: Uint8Array,
    at: number,
  ): Promise<Uint8Array | null> {
    const space = this.#spaces.get(spaceId)?.space;
    if (!space?.sealed || space.inviteUsedAt !== null || space.welcome === null) return null;
    if (space.welcomeTakenAt === null && sameBytes(space.inviteHash, inviteHash)) {
      space.inviteHash = copy(joinHash);
      space.welcomeTakenAt = at;
      return copy(space.welcome);
    }
    if (space.welcomeTakenAt !== null && sameBytes(space.inviteHash, joinHash)) {
      return copy(space.welcome);
    }
    return null;
  }

  async renewDeviceToken(
    spaceId: SpaceId,
    keys: { signingKey: Uint8Array; agreementKey: Uint8Array },
    tokenHash: Uint8Array,
  ): Promise<boolean> {
    const entry = this.#spaces.get(spaceId);
    const device = entry?.devices.find(
      (d) =>
        sameBytes(d.signingKey, keys.signingKey) && sameBytes(d.agreementKey, keys.agreementKey),
    );
    if (!device || entry?.revoked.has(device)) return false;
    device.tokenHash = copy(tokenHash);
    return true;
  }

  async listDevices(spaceId: SpaceId): Promise<DeviceRecord[]> {
    return (this.#spaces.get(spaceId)?.devices ?? []).map(copyDevice);
  }

  async findDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRecord | null> {
    for (const entry of this.#spaces.values()) {
      const found = entry.devices.find((d) => sameBytes(d.tokenHash, tokenHash));
      if (found) return entry.revoked.has(found) ? null : copyDevice(found);
    }
    return null;
  }

  async isRevokedDeviceToken(tokenHash: Uint8Array): Promise<boolean> {
    for (const entry of this.#spaces.values()) {
      const found = entry.devices.find((d) => sameBytes(d.tokenHash, tokenHash));
      if (found) return entry.revoked.has(found);
    }
    return false;
  }

  async revokeDevice(spaceId: SpaceId, signingKey: Uint8Array, at: number): Promise<boolean> {
    const entry = this.#spaces.get(spaceId);
    const device = entry?.devices.find((d) => sameBytes(d.signingKey, signingKey));
    if (!entry || !device || entry.revoked.has(device)) return false;
    entry.revoked.add(device);
    entry.epochBoxes.delete(device);
    const meta = entry.deviceMeta.get(device);
    if (meta) entry.deviceMeta.set(device, { ...meta, removedAt: at, box: null });
    else entry.deviceMeta.set(device, { ...noMeta, removedAt: at });
    return true;
  }

  async getKeyBox(spaceId: SpaceId, signingKey: Uint8Array): Promise<Uint8Array | null> {
    const entry = this.#spaces.get(spaceId);
    const device = entry?.devices.find((d) => sameBytes(d.signingKey, signingKey));
    const box = device && entry?.keyBoxes.get(device);
    return box ? copy(box) : null;
  }

  async sealPlaintextSpace(spaceId: SpaceId, seal: PlaintextSeal, at: number): Promise<SealResult> {
    const entry = this.#spaces.get(spaceId);
    if (!entry) return { sealed: false, reason: SealRefusal.noSpace };
    if (entry.space.sealed) return { sealed: false, reason: SealRefusal.sealedAlready };
    const current = entry.partners.filter((p) => !entry.revoked.has(p));
    const seats = sealSeats(current, entry.space.inviteUsedAt !== null, seal, at);
    if ('refused' in seats) return { sealed: false, reason: seats.refused };
    // Checked before anything changes: this adapter has no transaction to roll back.
    const [member, genesis] = seal.envelopes;
    if (chainStep(null, member).kind !== 'append' || !continues(member, genesis)) {
      throw new Error('the conversion envelopes do not form a chain');
    }
    const { space } = entry;
    space.sealed = true;
    space.name = null;
    if (seal.invite) {
      space.inviteHash = copy(seal.invite.inviteHash);
      space.welcome = copy(seal.invite.welcome);
      space.inviteUsedAt = null;
    } else {
      space.inviteUsedAt ??= at;
      space.welcome = null;
    }
    space.welcomeTakenAt = null;
    entry.updates = [];
    entry.snapshot = null;
    entry.docChecks.clear();
    entry.partners = [];
    entry.revoked.clear();
    for (const { keyBox, ...device } of seats.devices) {
      const record = copyDevice({ ...device, spaceId });
      entry.devices.push(record);
      if (keyBox) entry.keyBoxes.set(record, copy(keyBox));
    }
    for (const envelope of seal.envelopes) await this.appendEnvelope(spaceId, envelope);
    return { sealed: true };
  }

  async listPartners(spaceId: SpaceId): Promise<PartnerRecord[]> {
    return (this.#spaces.get(spaceId)?.partners ?? []).map(copyPartner);
  }

  async findPartnerByTokenHash(tokenHash: Uint8Array): Promise<PartnerRecord | null> {
    for (const entry of this.#spaces.values()) {
      const found = entry.partners.find((p) => Buffer.from(p.tokenHash).equals(tokenHash));
      if (found) return entry.revoked.has(found) ? null : copyPartner(found);
    }
    return null;
  }

  async revokePartner(spaceId: SpaceId, partnerId: PartnerId, _at: number): Promise<boolean> {
    const entry = this.#spaces.get(spaceId);
    const partner = entry?.partners.find((p) => p.partnerId === partnerId);
    if (!entry || !partner || entry.revoked.has(partner)) return false;
    entry.revoked.add(partner);
    return true;
  }

  async loadDoc(spaceId: SpaceId): Promise<StoredDoc> {
    const entry = this.#spaces.get(spaceId);
    if (!entry) return { snapshot: null, updates: [] };
    return {
      snapshot: entry.snapshot ? copy(entry.snapshot.data) : null,
      updates: entry.updates.map((u) => ({ seq: u.seq, data: copy(u.data) })),
    };
  }

  async appendUpdate(spaceId: SpaceId, update: Uint8Array): Promise<number> {
    const entry = this.#entry(spaceId);
    if (entry.space.sealed) throw new Error('the space is sealed');
    const seq = this.#nextSeq++;
    entry.updates.push({ seq, data: copy(update) });
    return seq;
  }

  async replaceWithSnapshot(
    spaceId: SpaceId,
    snapshot: Uint8Array,
    upToSeq: number,
  ): Promise<void> {
    const entry = this.#entry(spaceId);
    if (entry.space.sealed) return;
    if (entry.snapshot && entry.snapshot.upToSeq > upToSeq) return;
    entry.snapshot = { data: copy(snapshot), upToSeq };
    entry.updates = entry.updates.filter((u) => u.seq > upToSeq);
  }

  async getDocCheck(spaceId: SpaceId, partnerId: PartnerId): Promise<number | null> {
    return this.#spaces.get(spaceId)?.docChecks.get(partnerId) ?? null;
  }

  async recordDocCheck(
    spaceId: SpaceId,
    partnerId: PartnerId,
    schemaVersion: number,
  ): Promise<void> {
    const entry = this.#spaces.get(spaceId);
    if (!entry?.partners.some((p) => p.partnerId === partnerId)) return;
    entry.docChecks.set(partnerId, schemaVersion);
  }

  async deleteSpace(spaceId: SpaceId): Promise<void> {
    this.#spaces.delete(spaceId);
  }

  async storedBytes(spaceId: SpaceId): Promise<number> {
    const entry = this.#spaces.get(spaceId);
    if (!entry) return 0;
    const updates = entry.updates.reduce((sum, u) => sum + u.data.byteLength, 0);
    const { envelopes, snapshot } = entry.sealed;
    const sealed = envelopes.reduce((sum, e) => sum + e.bytes.byteLength, 0);
    return (
      (entry.snapshot?.data.byteLength ?? 0) + updates + (snapshot?.bytes.byteLength ?? 0) + sealed
    );
  }

  // --- the sealed log ------------------------------------------------------------------------

  async appendEnvelope(spaceId: SpaceId, entry: SealedEntry): Promise<SealedAppendResult> {
    const sealed = this.#sealedEntry(spaceId).sealed;
    const head = sealed.streams.get(entry.stream) ?? null;
    const step = chainStep(head, entry);
    if (step.kind === 'conflict') return { outcome: 'conflict', reason: step.reason };
    if (step.kind === 'resend' && head) {
      const stored = sealed.envelopes.find(
        (e) => e.stream === entry.stream && e.counter === entry.counter,
      );
      return resendVerdict(entry, head, stored ?? null);
    }
    const seq = sealedHead(sealed) + 1;
    sealed.envelopes.push({
      seq,
      stream: entry.stream,
      counter: entry.counter,
      hash: copy(entry.hash),
      bytes: copy(entry.envelope),
    });
    sealed.streams.set(entry.stream, {
      author: copy(entry.author),
      counter: entry.counter,
      hash: copy(entry.hash),
    });
    return { outcome: 'stored', seq };
  }

  async loadEnvelopes(spaceId: SpaceId, since: number): Promise<SealedLoad> {
    const sealed = this.#spaces.get(spaceId)?.sealed;
    if (!sealed) return { snapshot: null, envelopes: [], head: 0 };
    const snapshot =
      sealed.snapshot && since < sealed.snapshot.coversSeq
        ? { coversSeq: sealed.snapshot.coversSeq, envelope: copy(sealed.snapshot.bytes) }
        : null;
    return {
      snapshot,
      envelopes: sealed.envelopes
        .filter((e) => e.seq > since)
        .map((e) => ({ seq: e.seq, envelope: copy(e.bytes) })),
      head: sealedHead(sealed),
    };
  }

  async replaceWithSealedSnapshot(
    spaceId: SpaceId,
    snapshot: SealedSnapshot,
  ): Promise<SnapshotResult> {
    const sealed = this.#sealedEntry(spaceId).sealed;
    if (snapshot.coversSeq > sealedHead(sealed)) {
      return { stored: false, reason: SnapshotRefusal.beyondHead };
    }
    if (snapshot.coversSeq <= (sealed.snapshot?.coversSeq ?? 0)) {
      return { stored: false, reason: SnapshotRefusal.stale };
    }
    const covered = sealed.envelopes.find((e) => e.seq === snapshot.coversSeq);
    if (!covered || !sameBytes(covered.hash, snapshot.coversHash)) {
      return { stored: false, reason: SnapshotRefusal.mismatch };
    }
    sealed.snapshot = { coversSeq: snapshot.coversSeq, bytes: copy(snapshot.envelope) };
    sealed.envelopes = sealed.envelopes.filter((e) => e.seq > snapshot.coversSeq);
    return { stored: true };
  }

  async close(): Promise<void> {}

  #entry(spaceId: SpaceId): SpaceEntry {
    const entry = this.#spaces.get(spaceId);
    if (!entry) throw new Error('no such space');
    return entry;
  }

  #sealedEntry(spaceId: SpaceId): SpaceEntry {
    const entry = this.#entry(spaceId);
    if (!entry.space.sealed) throw new Error('the space is not sealed');
    return entry;
  }
}

function emptyEntry(): Omit<SpaceEntry, 'space'> {
  return {
    partners: [],
    docChecks: new Map(),
    snapshot: null,
    updates: [],
    devices: [],
    keyBoxes: new Map(),
    revoked: new Set(),
    sealed: { envelopes: [], streams: new Map(), snapshot: null },
    links: [],
    deviceMeta: new Map(),
    challenges: [],
    recoveryFailures: [],
    epochBoxes: new Map(),
  };
}

const noMeta: MemoryDeviceMeta = {
  lastSeenAt: null,
  removedAt: null,
  removedBy: null,
  recovery: false,
  box: null,
  linkSeq: null,
};

/** Whether `next` is the envelope after `first` on its stream (counter and prev). */
function continues(first: SealedEntry, next: SealedEntry): boolean {
  const head = { author: first.author, counter: first.counter, hash: first.hash };
  return next.stream === first.stream && chainStep(head, next).kind === 'append';
}

/** The last envelope's seq, or what the snapshot covers once every envelope was replaced. */
function sealedHead(sealed: SealedState): number {
  return sealed.envelopes.at(-1)?.seq ?? sealed.snapshot?.coversSeq ?? 0;
}

function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function copyPartner(partner: NewPartner): PartnerRecord {
  return { ...partner, tokenHash: copy(partner.tokenHash) };
}

function copyDevice(device: NewDevice): DeviceRecord {
  return {
    ...device,
    signingKey: copy(device.signingKey),
    agreementKey: copy(device.agreementKey),
    tokenHash: copy(device.tokenHash),
  };
}
