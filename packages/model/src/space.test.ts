import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ModelErrorCode } from './errors.js';
import type { PartnerId } from './ids.js';
import { Origin } from './origin.js';
import { Limits, MAX_PARTNERS, SCHEMA_VERSION } from './schema.js';
import {
  addPartner,
  getPartner,
  getSpace,
  initSpace,
  listPartners,
  markPartnerSeen,
  otherPartner,
  renameSpace,
  setDisplayName,
  setPartnerRole,
  setPresenceSharing,
} from './space.js';
import {
  A,
  B,
  T0,
  codeOf,
  originsOf,
  replicaOf,
  sync,
  twoPartnerSpace,
  updatesDuring,
} from './testing/fixtures.js';

describe('space', () => {
  it('initSpace writes name, createdAt and the current schema version in one transaction', () => {
    const doc = new Y.Doc();
    const origins = originsOf(doc, () => initSpace(doc, { name: '  Us  ', createdAt: T0 }));
    expect(origins).toEqual([Origin.initSpace]);
    expect(getSpace(doc)).toEqual({ name: 'Us', createdAt: T0, schemaVersion: SCHEMA_VERSION });
  });

  it('an uninitialised document has no space', () => {
    expect(getSpace(new Y.Doc())).toBeNull();
  });

  it('initSpace refuses to run twice', () => {
    const doc = twoPartnerSpace();
    expect(codeOf(() => initSpace(doc, { name: 'x', createdAt: T0 }))).toBe(
      ModelErrorCode.spaceAlreadyInitialised,
    );
  });

  it('initSpace refuses a name over the space-name limit and a non-integer time', () => {
    const long = 'x'.repeat(Limits.spaceName + 1);
    expect(codeOf(() => initSpace(new Y.Doc(), { name: long, createdAt: T0 }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(codeOf(() => initSpace(new Y.Doc(), { name: 'x', createdAt: 1.5 }))).toBe(
      ModelErrorCode.invalidArgument,
    );
  });

  it('renameSpace changes the name', () => {
    const doc = twoPartnerSpace();
    renameSpace(doc, { name: 'Repair', by: A });
    expect(getSpace(doc)?.name).toBe('Repair');
  });
});

describe('partners', () => {
  it('addPartner stores a trimmed display name, colour and join time', () => {
    const doc = new Y.Doc();
    initSpace(doc, { name: '', createdAt: T0 });
    const origins = originsOf(doc, () =>
      addPartner(doc, { id: A, displayName: ' Alex ', joinedAt: T0, color: '#aa3355' }),
    );
    expect(origins).toEqual([Origin.addPartner]);
    expect(getPartner(doc, A)).toEqual({
      id: A,
      displayName: 'Alex',
      role: null,
      joinedAt: T0,
      color: '#aa3355',
      lastSeenAt: null,
      showsHere: true,
      showsLastSeen: true,
    });
  });

  it('addPartner needs an initialised space', () => {
    expect(
      codeOf(() =>
        addPartner(new Y.Doc(), { id: A, displayName: 'A', joinedAt: T0, color: '#000000' }),
      ),
    ).toBe(ModelErrorCode.spaceNotInitialised);
  });

  it('a third partner is refused and nothing is written', () => {
    const doc = twoPartnerSpace();
    expect(listPartners(doc)).toHaveLength(MAX_PARTNERS);
    const third = 'partnerCCCCCCCCCCCCC' as PartnerId;
    const updates = updatesDuring(doc, () =>
      addPartner(doc, { id: third, displayName: 'C', joinedAt: T0, color: '#000000' }),
    );
    expect(updates).toHaveLength(0);
    expect(
      codeOf(() =>
        addPartner(doc, { id: third, displayName: 'C', joinedAt: T0, color: '#000000' }),
      ),
    ).toBe(ModelErrorCode.spaceFull);
  });

  it('addPartner refuses a duplicate id, a bad id, an empty name, a long name and a bad colour', () => {
    const doc = twoPartnerSpace({ secondPartner: false });
    const ok = { id: B, displayName: 'Sam', joinedAt: T0, color: '#123456' };
    expect(codeOf(() => addPartner(doc, { ...ok, id: A }))).toBe(ModelErrorCode.duplicateId);
    expect(codeOf(() => addPartner(doc, { ...ok, id: 'short' as PartnerId }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(codeOf(() => addPartner(doc, { ...ok, displayName: '   ' }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(
      codeOf(() => addPartner(doc, { ...ok, displayName: 'é'.repeat(Limits.displayName + 1) })),
    ).toBe(ModelErrorCode.invalidArgument);
    expect(codeOf(() => addPartner(doc, { ...ok, color: 'red' }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(listPartners(doc)).toHaveLength(1);
  });

  it('a display name of the longest length in emoji is within the limit (counted in code points)', () => {
    const doc = twoPartnerSpace({ secondPartner: false });
    const longest = '🌱'.repeat(Limits.displayName);
    addPartner(doc, { id: B, displayName: longest, joinedAt: T0, color: '#123456' });
    expect(getPartner(doc, B)?.displayName).toBe(longest);
  });

  it('listPartners returns partners in the order they joined; otherPartner finds the other', () => {
    const doc = twoPartnerSpace();
    expect(listPartners(doc).map((p) => p.id)).toEqual([A, B]);
    expect(otherPartner(doc, A)?.id).toBe(B);
    expect(otherPartner(doc, B)?.id).toBe(A);
  });

  it('setPartnerRole sets and clears a role, and refuses an unknown role', () => {
    const doc = twoPartnerSpace();
    setPartnerRole(doc, { partnerId: A, role: 'hurt' });
    expect(getPartner(doc, A)?.role).toBe('hurt');
    setPartnerRole(doc, { partnerId: A, role: null });
    expect(getPartner(doc, A)?.role).toBeNull();
    expect(codeOf(() => setPartnerRole(doc, { partnerId: A, role: 'villain' as 'hurt' }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(
      codeOf(() =>
        setPartnerRole(doc, { partnerId: 'nobodyNOBODYnobody' as PartnerId, role: 'hurt' }),
      ),
    ).toBe(ModelErrorCode.notFound);
  });

  it('setDisplayName renames a partner', () => {
    const doc = twoPartnerSpace();
    setDisplayName(doc, { partnerId: B, displayName: 'Sammy' });
    expect(getPartner(doc, B)?.displayName).toBe('Sammy');
  });

  it('markPartnerSeen writes at most once per interval and never moves backwards', () => {
    const doc = twoPartnerSpace();
    expect(markPartnerSeen(doc, { partnerId: A, at: T0 })).toBe(true);
    expect(markPartnerSeen(doc, { partnerId: A, at: T0 + 60_000 })).toBe(false);
    expect(markPartnerSeen(doc, { partnerId: A, at: T0 - 1 })).toBe(false);
    expect(getPartner(doc, A)?.lastSeenAt).toBe(T0);
    expect(markPartnerSeen(doc, { partnerId: A, at: T0 + 5 * 60_000 })).toBe(true);
    expect(getPartner(doc, A)?.lastSeenAt).toBe(T0 + 5 * 60_000);
  });
});

describe('showing when a partner is here and when they were last seen', () => {
  it('shows both until the partner chooses otherwise, also in documents from before the choice', () => {
    const doc = twoPartnerSpace();
    expect(getPartner(doc, A)).toMatchObject({ showsHere: true, showsLastSeen: true });
  });

  it("is each partner's own choice, on their record, followed by all their devices", () => {
    const phone = twoPartnerSpace();
    const laptop = replicaOf(phone);
    const origins = originsOf(phone, () =>
      setPresenceSharing(phone, { partnerId: A, here: false }),
    );
    expect(origins).toEqual([Origin.setPresenceSharing]);
    sync(phone, laptop);
    expect(getPartner(laptop, A)).toMatchObject({ showsHere: false, showsLastSeen: true });
    expect(getPartner(laptop, B)).toMatchObject({ showsHere: true, showsLastSeen: true });
  });

  it('with last seen off, records no time and forgets the one it had, on every device', () => {
    const phone = twoPartnerSpace();
    markPartnerSeen(phone, { partnerId: A, at: T0 });
    const laptop = replicaOf(phone);
    setPresenceSharing(phone, { partnerId: A, lastSeen: false });
    // The laptop has not heard of the choice yet and records a visit.
    markPartnerSeen(laptop, { partnerId: A, at: T0 + 10 * 60_000 });
    sync(phone, laptop);
    for (const doc of [phone, laptop]) {
      expect(getPartner(doc, A)).toMatchObject({ lastSeenAt: null, showsLastSeen: false });
      expect(markPartnerSeen(doc, { partnerId: A, at: T0 + 20 * 60_000 })).toBe(false);
      expect(getPartner(doc, A)?.lastSeenAt).toBeNull();
    }
    setPresenceSharing(laptop, { partnerId: A, lastSeen: true });
    expect(markPartnerSeen(laptop, { partnerId: A, at: T0 + 30 * 60_000 })).toBe(true);
    expect(getPartner(laptop, A)?.lastSeenAt).toBe(T0 + 30 * 60_000);
  });

  it('refuses a choice that is not true or false, and a stranger', () => {
    const doc = twoPartnerSpace();
    expect(codeOf(() => setPresenceSharing(doc, { partnerId: A, here: 'no' as never }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(
      codeOf(() => setPresenceSharing(doc, { partnerId: 'p_nobody_0123456789' as PartnerId })),
    ).toBe(ModelErrorCode.notFound);
  });
});
