import { MAX_PARTNERS } from '@mend/model';
import type { PartnerId, SpaceId } from '@mend/protocol';
import type {
  AddPartnerResult,
  NewPartner,
  NewSpace,
  PartnerRecord,
  SpaceRecord,
  StorageAdapter,
  StoredDoc,
} from './StorageAdapter.js';

interface SpaceEntry {
  space: SpaceRecord;
  partners: PartnerRecord[];
  docChecks: Map<PartnerId, number>;
  snapshot: { data: Uint8Array; upToSeq: number } | null;
  updates: { seq: number; data: Uint8Array }[];
}

/**
 * Keeps everything in this process's memory: for unit tests, never for couples' data. Copies
 * bytes in and out so callers can never alias what is "stored".
 */
export class MemoryAdapter implements StorageAdapter {
  readonly #spaces = new Map<SpaceId, SpaceEntry>();
  #nextSeq = 1;

  async migrate(): Promise<void> {}

  async createSpace(space: NewSpace, firstPartner: NewPartner): Promise<void> {
    if (this.#spaces.has(space.spaceId)) throw new Error('a space with this id already exists');
    this.#spaces.set(space.spaceId, {
      space: { ...space, inviteHash: copy(space.inviteHash), inviteUsedAt: null },
      partners: [copyPartner(firstPartner)],
      docChecks: new Map(),
      snapshot: null,
      updates: [],
    });
  }

  async getSpace(spaceId: SpaceId): Promise<SpaceRecord | null> {
    const entry = this.#spaces.get(spaceId);
    return entry ? { ...entry.space, inviteHash: copy(entry.space.inviteHash) } : null;
  }

  async addPartner(
    spaceId: SpaceId,
    partner: NewPartner,
    usedAt: number,
  ): Promise<AddPartnerResult> {
    const entry = this.#entry(spaceId);
    if (entry.space.inviteUsedAt !== null) return 'invite-used';
    if (entry.partners.length >= MAX_PARTNERS) return 'space-full';
    entry.partners.push(copyPartner(partner));
    entry.space.inviteUsedAt = usedAt;
    return 'added';
  }

  async listPartners(spaceId: SpaceId): Promise<PartnerRecord[]> {
    return (this.#spaces.get(spaceId)?.partners ?? []).map(copyPartner);
  }

  async findPartnerByTokenHash(tokenHash: Uint8Array): Promise<PartnerRecord | null> {
    for (const entry of this.#spaces.values()) {
      const found = entry.partners.find((p) => Buffer.from(p.tokenHash).equals(tokenHash));
      if (found) return copyPartner(found);
    }
    return null;
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
    return (entry.snapshot?.data.byteLength ?? 0) + updates;
  }

  async close(): Promise<void> {}

  #entry(spaceId: SpaceId): SpaceEntry {
    const entry = this.#spaces.get(spaceId);
    if (!entry) throw new Error('no such space');
    return entry;
  }
}

function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function copyPartner(partner: NewPartner): PartnerRecord {
  return { ...partner, tokenHash: copy(partner.tokenHash) };
}
