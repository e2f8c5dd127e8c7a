import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { checkRemoteUpdate } from './authorship.js';
import { ModelErrorCode } from './errors.js';
import type { PartnerId } from './ids.js';
import { migrate, schemaVersionOf } from './migrate.js';
import { Origin } from './origin.js';
import { SCHEMA_VERSION } from './schema.js';
import { isSealingKey, offerSealingKeys, readSealingKeys, type SealingKeys } from './sealing.js';
import { getSpace, listPartners } from './space.js';
import { roots } from './store.js';
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
import { writtenOn } from './testing/sealedRun.js';
import { FORGER, asA, refusedAs, verdicts } from './testing/verdicts.js';
import { checkUpdateShape } from './updateShape.js';

/** A well-formed key: 32 bytes in unpadded base64url (the last character carries 4 bits). */
const key = (c: string, last = 'A'): string => c.repeat(42) + last;
const keysOf = (c: string): SealingKeys => ({ signingKey: key(c), agreementKey: key(c, 'g') });

describe('sealing keys', () => {
  it('a partner offers their device’s public keys in one write, and both replicas read them', () => {
    const doc = twoPartnerSpace();
    const other = replicaOf(doc);
    let wrote: boolean | undefined;
    expect(
      originsOf(doc, () => (wrote = offerSealingKeys(doc, { partnerId: A, ...keysOf('a') }))),
    ).toEqual([Origin.offerSealingKeys]);
    expect(wrote).toBe(true);
    offerSealingKeys(other, { partnerId: B, ...keysOf('b') });
    sync(doc, other);
    for (const d of [doc, other]) {
      expect(readSealingKeys(d)).toEqual(
        new Map([
          [A, keysOf('a')],
          [B, keysOf('b')],
        ]),
      );
    }
  });

  it('a later device of the partner replaces their entry; the same keys again write nothing', () => {
    const doc = twoPartnerSpace();
    offerSealingKeys(doc, { partnerId: A, ...keysOf('a') });
    expect(
      updatesDuring(doc, () => offerSealingKeys(doc, { partnerId: A, ...keysOf('a') })),
    ).toEqual([]);
    expect(offerSealingKeys(doc, { partnerId: A, ...keysOf('a') })).toBe(false);
    expect(offerSealingKeys(doc, { partnerId: A, ...keysOf('c') })).toBe(true);
    expect(readSealingKeys(doc).get(A)).toEqual(keysOf('c'));
    expect(roots(doc).sealing.size).toBe(1);
  });

  it('refuses keys that are not 32 bytes in unpadded base64url, and a partner the space lacks, writing nothing', () => {
    const doc = twoPartnerSpace();
    const bad = [
      key('a').slice(1), // 42 characters
      `${key('a')}=`, // padded
      key('a', 'B'), // a last character with bits past the 32nd byte: another spelling
      'a'.repeat(42) + '+', // base64, not base64url
      '00'.repeat(32), // hex
      42,
    ];
    for (const signingKey of bad) {
      const input = { partnerId: A, signingKey, agreementKey: key('b') } as never;
      expect(updatesDuring(doc, () => offerSealingKeys(doc, input))).toEqual([]);
      expect(codeOf(() => offerSealingKeys(doc, input))).toBe(ModelErrorCode.invalidArgument);
      expect(isSealingKey(signingKey)).toBe(false);
    }
    const stranger = 'partnerCCCCCCCCCCCCC' as PartnerId;
    expect(codeOf(() => offerSealingKeys(doc, { partnerId: stranger, ...keysOf('c') }))).toBe(
      ModelErrorCode.notFound,
    );
    expect(codeOf(() => offerSealingKeys(new Y.Doc(), { partnerId: A, ...keysOf('a') }))).toBe(
      ModelErrorCode.spaceNotInitialised,
    );
    expect(readSealingKeys(doc).size).toBe(0);
  });

  it('reads past malformed entries another version or a buggy device wrote', () => {
    const doc = twoPartnerSpace();
    offerSealingKeys(doc, { partnerId: B, ...keysOf('b') });
    const sealing = roots(doc).sealing;
    sealing.set(A, { signingKey: key('a') });
    sealing.set('not an id', keysOf('x'));
    sealing.set('partnerCCCCCCCCCCCCC', { ...keysOf('c'), extra: 1 });
    sealing.set('partnerDDDDDDDDDDDDD', 'keys');
    sealing.set('partnerEEEEEEEEEEEEE', new Y.Map());
    expect(readSealingKeys(doc)).toEqual(new Map([[B, keysOf('b')]]));
  });

  it('passes the plaintext server’s shape check, from scratch and as an increment', () => {
    const doc = twoPartnerSpace();
    const server = replicaOf(doc);
    const before = Y.encodeStateVector(doc);
    offerSealingKeys(doc, { partnerId: A, ...keysOf('a') });
    offerSealingKeys(doc, { partnerId: A, ...keysOf('c') });
    const increment = Y.encodeStateAsUpdate(doc, before);
    expect(checkUpdateShape(increment, (c) => Y.getState(server.store, c)).ok).toBe(true);
    expect(checkUpdateShape(Y.encodeStateAsUpdate(doc), () => 0).ok).toBe(true);
  });

  it('leaves migration alone: an old document with offers migrates and keeps them', () => {
    const doc = new Y.Doc();
    doc.transact(() => {
      doc.getMap('space').set('name', 'Old space');
      doc.getMap('partners').set(A, { displayName: 'Alex', joinedAt: T0, color: '#aa3355' });
      doc.getMap('sealing').set(A, keysOf('a'));
    });
    expect(schemaVersionOf(doc)).toBe(0);
    expect(migrate(doc).migrated).toBe(true);
    expect(getSpace(doc)?.schemaVersion).toBe(SCHEMA_VERSION);
    expect(listPartners(doc).map((p) => p.id)).toEqual([A]);
    expect(readSealingKeys(doc).get(A)).toEqual(keysOf('a'));
    // Offers alone are not content: an otherwise empty document is still empty.
    const empty = new Y.Doc();
    empty.getMap('sealing').set(A, keysOf('a'));
    expect(schemaVersionOf(empty)).toBeNull();
  });

  it('in a sealed space nobody writes them again: neither their own entry, the other’s, nor a removal', () => {
    // The genesis brings the offers in; the rule table never judges it.
    const sealed = twoPartnerSpace();
    offerSealingKeys(sealed, { partnerId: A, ...keysOf('a') });
    offerSealingKeys(sealed, { partnerId: B, ...keysOf('b') });
    const writes: ((doc: Y.Doc) => void)[] = [
      (doc) => offerSealingKeys(doc, { partnerId: A, ...keysOf('c') }),
      (doc) => offerSealingKeys(doc, { partnerId: B, ...keysOf('c') }),
      (doc) => roots(doc).sealing.delete(A),
      (doc) => roots(doc).sealing.delete(B),
    ];
    for (const write of writes) {
      expect(verdicts(sealed, writtenOn(sealed, FORGER, write), asA)).toEqual(
        refusedAs('others-content'),
      );
    }
    // A first offer into a sealed space that has none is refused as well.
    const bare = twoPartnerSpace();
    const first = writtenOn(bare, FORGER, (doc) =>
      offerSealingKeys(doc, { partnerId: A, ...keysOf('a') }),
    );
    expect(checkRemoteUpdate(bare, first, asA)).toMatchObject({
      ok: false,
      reason: 'others-content',
    });
  });

  it('converges, each partner’s entry holding keys one of their devices offered', () => {
    const step = fc.record({
      device: fc.nat({ max: 3 }),
      action: fc.constantFrom('offer', 'sync'),
      keys: fc.constantFrom('a', 'b', 'c', 'd'),
      peer: fc.nat({ max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const first = twoPartnerSpace();
        // Devices 0 and 1 are A's, 2 and 3 B's.
        const devices = [first, replicaOf(first), replicaOf(first), replicaOf(first)];
        const offered = new Map<PartnerId, Set<string>>([
          [A, new Set()],
          [B, new Set()],
        ]);
        for (const s of steps) {
          const doc = devices[s.device]!;
          if (s.action === 'sync') {
            sync(doc, devices[s.peer]!);
            continue;
          }
          const partnerId = s.device < 2 ? A : B;
          offerSealingKeys(doc, { partnerId, ...keysOf(s.keys) });
          offered.get(partnerId)!.add(s.keys);
        }
        for (const d of devices.slice(1)) sync(devices[0]!, d);
        for (const d of devices.slice(1)) sync(devices[0]!, d);
        const read = devices.map((d) => readSealingKeys(d));
        for (const r of read) expect(r).toEqual(read[0]);
        for (const [partnerId, keys] of offered) {
          const entry = read[0]!.get(partnerId);
          if (keys.size === 0) expect(entry).toBeUndefined();
          else expect([...keys].map(keysOf)).toContainEqual(entry);
        }
      }),
      { numRuns: 100 },
    );
  });
});
