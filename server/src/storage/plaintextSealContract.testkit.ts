import { createHash, randomBytes } from 'node:crypto';
import type { SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import type { SealedEntry } from './SealedLog.js';
import {
  SealRefusal,
  type NewPartner,
  type PlaintextSeal,
  type SealingDevice,
  type StorageAdapter,
} from './StorageAdapter.js';
import {
  createSealedSpaceWithDevice,
  createSpaceWithPartner,
  migratedAdapterPerTest,
  newPartner,
  newSpaceId,
  type DisposeAdapter,
  type OpenAdapter,
} from './storageFixtures.testkit.js';

/**
 * The contract of converting a plaintext space into a sealed one (SpaceDirectory
 * .sealPlaintextSpace): every adapter (memory, SQLite, PostgreSQL) runs this suite, beside the
 * space directory's and the sealed log's.
 *
 *   definePlaintextSealContract('SQLite', async () => openFreshAdapter(), async (a) => a.close());
 *
 * Envelopes are random bytes, as in the sealed log's suite: storage moves bytes and checks the
 * header fields it is handed.
 */
export function definePlaintextSealContract(
  name: string,
  open: OpenAdapter,
  dispose: DisposeAdapter = (adapter) => adapter.close(),
): void {
  describe(`plaintext space conversion contract: ${name}`, () => {
    let storage: StorageAdapter;

    migratedAdapterPerTest(open, dispose, (opened) => {
      storage = opened;
    });

    /** A plaintext space with a document (two updates, compacted once) and one or two partners. */
    async function plaintextSpace(partners: 1 | 2 = 2) {
      const { space, first } = await createSpaceWithPartner(storage);
      const joined: NewPartner[] = [first];
      if (partners === 2) {
        const second = newPartner(space.spaceId, 'Sam');
        await storage.addPartner(space.spaceId, second, 1_700_000_000_100);
        joined.push(second);
      }
      const seq = await storage.appendUpdate(space.spaceId, plaintext('first words'));
      await storage.replaceWithSnapshot(space.spaceId, plaintext('the snapshot'), seq);
      await storage.appendUpdate(space.spaceId, plaintext('later words'));
      await storage.recordDocCheck(space.spaceId, first.partnerId, 7);
      return { spaceId: space.spaceId, partners: joined };
    }

    it('makes the space sealed, its partners devices with their old tokens, and its log seq 1 and 2', async () => {
      const { spaceId, partners } = await plaintextSpace();
      const seal = sealFor(partners);
      expect(await storage.sealPlaintextSpace(spaceId, seal, 1_700_000_000_900)).toEqual({
        sealed: true,
      });

      expect(await storage.getSpace(spaceId)).toMatchObject({
        sealed: true,
        name: null,
        inviteUsedAt: 1_700_000_000_100,
        welcome: null,
      });
      for (const [i, partner] of partners.entries()) {
        const device = seal.devices[i];
        expect(await storage.findPartnerByTokenHash(partner.tokenHash)).toBeNull();
        expect(await storage.findDeviceByTokenHash(partner.tokenHash)).toEqual({
          spaceId,
          partnerId: partner.partnerId,
          signingKey: device?.signingKey,
          agreementKey: device?.agreementKey,
          tokenHash: partner.tokenHash,
          addedAt: 1_700_000_000_900 + i,
        });
        expect(await storage.getKeyBox(spaceId, device?.signingKey ?? new Uint8Array())).toEqual(
          device?.keyBox,
        );
      }
      // The converting device first, as a sealed space's creating device.
      const listed = await storage.listDevices(spaceId);
      expect(listed.map((d) => d.partnerId)).toEqual(partners.map((p) => p.partnerId));
      expect(await storage.listPartners(spaceId)).toEqual([]);
      expect(await storage.getDocCheck(spaceId, partners[0]?.partnerId ?? ('' as never))).toBe(
        null,
      );
      expect(await storage.loadDoc(spaceId)).toEqual({ snapshot: null, updates: [] });
      const [member, genesis] = seal.envelopes;
      expect(await storage.loadEnvelopes(spaceId, 0)).toEqual({
        snapshot: null,
        envelopes: [
          { seq: 1, envelope: member.envelope },
          { seq: 2, envelope: genesis.envelope },
        ],
        head: 2,
      });
      expect(await storage.storedBytes(spaceId)).toBe(
        member.envelope.byteLength + genesis.envelope.byteLength,
      );
    });

    it('continues as a sealed space: its chain goes on, and a plaintext write or compaction is refused', async () => {
      const { spaceId, partners } = await plaintextSpace();
      const seal = sealFor(partners);
      await storage.sealPlaintextSpace(spaceId, seal, 1);
      const [, genesis] = seal.envelopes;
      const next = entryAfter(genesis);
      expect(await storage.appendEnvelope(spaceId, next)).toEqual({ outcome: 'stored', seq: 3 });
      await expect(storage.appendUpdate(spaceId, plaintext('too late'))).rejects.toThrow();
      await storage.replaceWithSnapshot(spaceId, plaintext('a late compaction'), 99);
      expect(await storage.loadDoc(spaceId)).toEqual({ snapshot: null, updates: [] });
      expect(await storage.storedBytes(spaceId)).toBe(
        seal.envelopes[0].envelope.byteLength + genesis.envelope.byteLength + 40,
      );
    });

    it('replaces a pending invite with the new sealed one, which the partner can then use', async () => {
      const { spaceId, partners } = await plaintextSpace(1);
      const invite = { inviteHash: new Uint8Array(randomBytes(32)), welcome: box(90) };
      const seal = { ...sealFor(partners), invite };
      expect(await storage.sealPlaintextSpace(spaceId, seal, 5)).toEqual({ sealed: true });
      expect(await storage.getSpace(spaceId)).toMatchObject({
        sealed: true,
        inviteHash: invite.inviteHash,
        inviteUsedAt: null,
        welcome: invite.welcome,
        welcomeTakenAt: null,
      });
      const joining = {
        spaceId,
        partnerId: 'SecondPartner_0123456' as never,
        signingKey: new Uint8Array(randomBytes(32)),
        agreementKey: new Uint8Array(randomBytes(32)),
        tokenHash: new Uint8Array(randomBytes(32)),
        addedAt: 6,
      };
      expect(await storage.addSealedPartner(spaceId, joining, 6)).toBe('added');
      expect(await storage.listDevices(spaceId)).toHaveLength(2);
    });

    it('takes a new invite exactly when the space waits for its second partner', async () => {
      const invite = { inviteHash: new Uint8Array(randomBytes(32)), welcome: box(90) };
      const waiting = await plaintextSpace(1);
      expect(
        await storage.sealPlaintextSpace(waiting.spaceId, sealFor(waiting.partners), 5),
      ).toEqual({ sealed: false, reason: SealRefusal.inviteMismatch });
      const full = await plaintextSpace(2);
      const withInvite = { ...sealFor(full.partners), invite };
      expect(await storage.sealPlaintextSpace(full.spaceId, withInvite, 5)).toEqual({
        sealed: false,
        reason: SealRefusal.inviteMismatch,
      });
      await expectUnchanged(waiting.spaceId, waiting.partners);
      await expectUnchanged(full.spaceId, full.partners);
    });

    it('refuses, changing nothing, a missing space, a sealed one and a listing that is not exactly the partners', async () => {
      const { spaceId, partners } = await plaintextSpace();
      const [first, second] = partners as [NewPartner, NewPartner];
      const stranger = newPartner(spaceId, 'Stranger');
      const sealed = await createSealedSpaceWithDevice(storage);
      const refusals: [SpaceId, PlaintextSeal, SealRefusal][] = [
        [newSpaceId(), sealFor(partners), SealRefusal.noSpace],
        [sealed.space.spaceId, sealFor(partners), SealRefusal.sealedAlready],
        [spaceId, sealFor([first]), SealRefusal.partnersChanged],
        [spaceId, sealFor([first, stranger]), SealRefusal.partnersChanged],
        [spaceId, sealFor([first, first]), SealRefusal.partnersChanged],
        [spaceId, sealFor([first, second, stranger]), SealRefusal.partnersChanged],
      ];
      for (const [target, seal, reason] of refusals) {
        expect(await storage.sealPlaintextSpace(target, seal, 9)).toEqual({
          sealed: false,
          reason,
        });
      }
      await expectUnchanged(spaceId, partners);
      expect((await storage.loadEnvelopes(sealed.space.spaceId, 0)).head).toBe(0);
      expect(await storage.listDevices(sealed.space.spaceId)).toEqual([sealed.first]);
    });

    it('takes only the partners that were not revoked, and a revoked one stays out', async () => {
      const { spaceId, partners } = await plaintextSpace();
      const [first, second] = partners as [NewPartner, NewPartner];
      // Its invite was used by the partner who left: nobody waits for it.
      await storage.revokePartner(spaceId, second.partnerId, 3);
      expect(await storage.sealPlaintextSpace(spaceId, sealFor(partners), 4)).toEqual({
        sealed: false,
        reason: SealRefusal.partnersChanged,
      });
      expect(await storage.sealPlaintextSpace(spaceId, sealFor([first]), 4)).toEqual({
        sealed: true,
      });
      expect(await storage.findDeviceByTokenHash(second.tokenHash)).toBeNull();
      expect(await storage.findDeviceByTokenHash(first.tokenHash)).not.toBeNull();
    });

    it('lets one of two conversions at the same moment win', async () => {
      const { spaceId, partners } = await plaintextSpace();
      const results = await Promise.all(
        [0, 1, 2].map((i) => storage.sealPlaintextSpace(spaceId, sealFor(partners), i)),
      );
      expect(results.filter((r) => r.sealed)).toHaveLength(1);
      expect(results.filter((r) => !r.sealed)).toEqual([
        { sealed: false, reason: SealRefusal.sealedAlready },
        { sealed: false, reason: SealRefusal.sealedAlready },
      ]);
      expect(await storage.listDevices(spaceId)).toHaveLength(2);
      expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(2);
    });

    it('leaves no plaintext behind when updates are written while it converts', async () => {
      const { spaceId, partners } = await plaintextSpace();
      // Some of these may commit before the conversion (it deletes them), the others after it
      // (refused): which, depends on the engine and the moment; none may survive.
      const race = (i: number) =>
        storage.appendUpdate(spaceId, plaintext(`racing ${i}`)).catch(() => undefined);
      const before = [0, 1, 2, 3].map(race);
      const sealed = storage.sealPlaintextSpace(spaceId, sealFor(partners), 1);
      const after = [4, 5, 6, 7].map(race);
      const compaction = storage.replaceWithSnapshot(spaceId, plaintext('racing snapshot'), 99);
      expect(await sealed).toEqual({ sealed: true });
      await Promise.all([...before, ...after, compaction.catch(() => undefined)]);
      expect(await storage.loadDoc(spaceId)).toEqual({ snapshot: null, updates: [] });
      expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(2);
    });

    it('leaves other spaces untouched', async () => {
      const a = await plaintextSpace();
      const b = await plaintextSpace();
      await storage.sealPlaintextSpace(a.spaceId, sealFor(a.partners), 1);
      await expectUnchanged(b.spaceId, b.partners);
    });

    /** Still plaintext, with its partners, its tokens and its whole document. */
    async function expectUnchanged(spaceId: SpaceId, partners: NewPartner[]): Promise<void> {
      expect(await storage.getSpace(spaceId)).toMatchObject({ sealed: false, name: 'Our space' });
      expect(await storage.listPartners(spaceId)).toEqual(expect.arrayContaining(partners));
      expect(await storage.listDevices(spaceId)).toEqual([]);
      for (const partner of partners) {
        expect(await storage.findPartnerByTokenHash(partner.tokenHash)).toEqual(partner);
      }
      const doc = await storage.loadDoc(spaceId);
      expect(doc.snapshot).toEqual(plaintext('the snapshot'));
      expect(doc.updates.map((u) => u.data)).toEqual([plaintext('later words')]);
      expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(0);
      expect(await storage.getDocCheck(spaceId, partners[0]?.partnerId ?? ('' as never))).toBe(7);
    }
  });
}

function plaintext(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function box(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

/** A conversion listing `partners` (the first converts; the others get a box). */
function sealFor(partners: readonly NewPartner[]): PlaintextSeal {
  const devices: SealingDevice[] = partners.map((partner, i) => ({
    partnerId: partner.partnerId,
    signingKey: new Uint8Array(randomBytes(32)),
    agreementKey: new Uint8Array(randomBytes(32)),
    keyBox: i === 0 ? null : box(170),
  }));
  const author = devices[0]?.signingKey ?? new Uint8Array(randomBytes(32));
  const member = entry(author, randomBytes(4).readUInt32LE(0), 1, new Uint8Array(32));
  return { devices, envelopes: [member, entryAfter(member)], invite: null };
}

function entryAfter(previous: SealedEntry): SealedEntry {
  return entry(previous.author, previous.stream, previous.counter + 1, previous.hash);
}

function entry(author: Uint8Array, stream: number, counter: number, prev: Uint8Array): SealedEntry {
  const envelope = new Uint8Array(randomBytes(40));
  const hash = new Uint8Array(createHash('sha256').update(envelope).digest());
  return { author, stream, counter, prev, hash, envelope };
}
