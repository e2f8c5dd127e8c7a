import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { checkRemoteUpdate, type UpdateAuthor } from './authorship.js';
import { checkRemoteUpdateByReplica } from './authorshipOracle.js';
import { agreementTexts, listAgreements, proposeAgreement } from './agreements.js';
import { checkIn, getCheckin } from './checkins.js';
import { markPartnerSeen, renameSpace, setDisplayName, setPresenceSharing } from './space.js';
import { roots } from './store.js';
import { selfOrigin } from './testing/craftedUpdates.js';
import { A, B, T0 } from './testing/fixtures.js';
import { SealedRun, writtenOn } from './testing/sealedRun.js';

const DAY = '2026-11-02';

function reasonOf(doc: Y.Doc, update: Uint8Array, author: UpdateAuthor): string {
  const verdict = checkRemoteUpdate(doc, update, author);
  return verdict.ok ? 'accepted' : verdict.reason;
}

describe('devices and client ids', () => {
  it("refuses an update written under another device's client id, even the author's partner's own", () => {
    const run = new SealedRun();
    const b1 = run.device('b1');
    b1.doc.transact(() => setDisplayName(b1.doc, { partnerId: B, displayName: 'Sam B.' }));
    const update = b1.unsent[0]!;
    // B's update, presented as written by B's other device, and by A's.
    expect(reasonOf(run.sequenced, update, run.device('b2').author)).toBe('foreign-client');
    expect(reasonOf(run.sequenced, update, run.device('a1').author)).toBe('foreign-client');
    expect(reasonOf(run.sequenced, update, b1.author)).toBe('accepted');
  });

  it("refuses a forgery that continues the partner's own client clock", () => {
    const run = new SealedRun();
    const b1 = run.device('b1');
    const forged = writtenOn(run.sequenced, b1.doc.clientID, (doc) =>
      roots(doc).partners.get(B)!.set('displayName', 'Cheater'),
    );
    expect(reasonOf(run.sequenced, forged, run.device('a1').author)).toBe('foreign-client');
  });
});

describe('bytes that are not an honest update', () => {
  const run = new SealedRun();
  const a1 = run.device('a1');
  checkIn(a1.doc, { partnerId: A, date: DAY, safety: 6, state: 'calm', note: 'fine', at: T0 });
  const honest = a1.unsent[0]!;

  it('accepts the honest update the mutations below start from', () => {
    expect(reasonOf(run.sequenced, honest, a1.author)).toBe('accepted');
  });

  it('refuses garbage, every truncation and an update that breaks Yjs, as malformed', () => {
    expect(reasonOf(run.sequenced, new Uint8Array([0xde, 0xad, 0xbe, 0xef]), a1.author)).toBe(
      'malformed',
    );
    const cut = Array.from({ length: honest.length - 1 }, (_, n) =>
      reasonOf(run.sequenced, honest.slice(0, n + 1), a1.author),
    );
    expect(cut.filter((reason) => reason === 'accepted')).toEqual([]);
    expect(reasonOf(run.sequenced, selfOrigin(1), a1.author)).toBe('malformed');
  });

  it('never throws on random bytes or on random flips of an honest update, and never accepts more than the oracle', () => {
    const mutated = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc
        .array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })
        .map((flips) => {
          const bytes = honest.slice();
          for (const [at, xor] of flips) bytes[at % bytes.length]! ^= xor;
          return bytes;
        }),
    );
    fc.assert(
      fc.property(mutated, (bytes) => {
        const fast = checkRemoteUpdate(run.sequenced, bytes, a1.author);
        const slow = checkRemoteUpdateByReplica(run.sequenced, bytes, a1.author);
        // Asserted on every run (most random bytes are refused by both, so an assertion only
        // when the fast checker accepts could leave a whole run without one).
        expect(!fast.ok || slow.ok, 'the fast checker accepted what the oracle refused').toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('leaves the document it checks against unchanged', () => {
    const before = Y.encodeStateAsUpdate(run.sequenced);
    const roots = [...run.sequenced.share.keys()];
    const forged = writtenOn(run.sequenced, 100, (doc) => doc.getMap('elsewhere').set('x', 1));
    for (const update of [honest, forged, selfOrigin(1), honest.slice(0, 9)]) {
      checkRemoteUpdate(run.sequenced, update, a1.author);
      checkRemoteUpdateByReplica(run.sequenced, update, a1.author);
    }
    expect(Y.encodeStateAsUpdate(run.sequenced)).toEqual(before);
    expect([...run.sequenced.share.keys()]).toEqual(roots);
  });
});

describe('what a replica has', () => {
  it('refuses an update that builds on one this replica does not have', () => {
    const run = new SealedRun();
    const a1 = run.device('a1');
    checkIn(a1.doc, { partnerId: A, date: DAY, safety: 6, state: 'calm', at: T0 });
    checkIn(a1.doc, { partnerId: A, date: DAY, safety: 7, state: 'calm', at: T0 + 1 });
    expect(reasonOf(run.sequenced, a1.unsent[1]!, a1.author)).toBe('missing-dependencies');
  });

  it("is run against the device's replica of the log: its working document, with its own unsent edits, would judge as no other device does", () => {
    const run = new SealedRun();
    const [a1, b1] = [run.device('a1'), run.device('b1')];
    run.write(a1, (doc) =>
      proposeAgreement(doc, { title: 'Talk', body: 'We talk.', by: A, at: T0 }, a1.newId),
    );
    const body = (doc: Y.Doc) => agreementTexts(doc, listAgreements(doc)[0]!.id).body;
    body(b1.doc).insert(8, ' daily');
    renameSpace(b1.doc, { name: 'Ours', by: B });
    const forger: UpdateAuthor = { partnerId: A, clientIds: new Set([100]) };
    // Typed right after B's unsent words, which B's device has and no other device has yet.
    const next = writtenOn(b1.doc, 100, (doc) => body(doc).insert(14, '!'));
    // The space's name removed, which B's device has just overwritten (so deleted) itself.
    const removal = writtenOn(run.sequenced, 100, (doc) => roots(doc).space.delete('name'));
    expect(reasonOf(b1.replica, next, forger)).toBe('missing-dependencies');
    expect(reasonOf(b1.replica, removal, forger)).toBe('schema');
    expect(reasonOf(b1.doc, next, forger)).toBe('accepted');
    expect(reasonOf(b1.doc, removal, forger)).toBe('accepted');
  });

  it('accepts an accepted update sent again (an outbox resending after a reconnect)', () => {
    const run = new SealedRun();
    const a1 = run.device('a1');
    const entry = run.write(a1, (doc) =>
      checkIn(doc, { partnerId: A, date: DAY, safety: 6, state: 'calm', at: T0 }),
    );
    expect(entry.verdict.ok).toBe(true);
    expect(reasonOf(run.sequenced, entry.update, a1.author)).toBe('accepted');
  });
});

describe('honest updates in every shape a device may send', () => {
  it('accepts an offline batch encoded from a state vector: values written then removed, and the whole delete set', () => {
    const run = new SealedRun();
    const a1 = run.device('a1');
    const before = Y.encodeStateVector(a1.doc);
    markPartnerSeen(a1.doc, { partnerId: A, at: T0 + 10, minIntervalMs: 0 });
    setDisplayName(a1.doc, { partnerId: A, displayName: 'Al' });
    setDisplayName(a1.doc, { partnerId: A, displayName: 'Alex M.' });
    setPresenceSharing(a1.doc, { partnerId: A, lastSeen: false });
    const batch = Y.encodeStateAsUpdate(a1.doc, before);
    expect(reasonOf(run.sequenced, batch, a1.author)).toBe('accepted');
    expect(checkRemoteUpdateByReplica(run.sequenced, batch, a1.author)).toEqual({ ok: true });
  });

  it("accepts an offline batch carrying a check-in that lost to the partner's other device: sent deleted, it changes nothing", () => {
    const run = new SealedRun();
    const [a1, a2] = [run.device('a1'), run.device('a2')];
    checkIn(a1.doc, { partnerId: A, date: DAY, safety: 3, state: 'alert', at: T0 });
    checkIn(a2.doc, { partnerId: A, date: DAY, safety: 8, state: 'calm', at: T0 + 1 });
    run.send(a2, 'merged');
    // a1 receives a2's check-in, which wins (the larger client id), and only then sends its own.
    run.deliver(a1);
    const [late] = run.send(a1, 'diff');
    expect([late?.verdict, late?.oracle]).toEqual([{ ok: true }, { ok: true }]);
    expect(run.disagreements).toEqual([]);
    expect(getCheckin(run.sequenced, DAY, A)).toMatchObject({ safety: 8 });
  });

  it("accepts an edit of a check-in that lost to the partner's other device (Yjs drops it as garbage)", () => {
    const run = new SealedRun();
    const [a1, a2] = [run.device('a1'), run.device('a2')];
    // Both of A's devices create the day's check-in offline; a2's (the larger client id) wins.
    checkIn(a1.doc, { partnerId: A, date: DAY, safety: 3, state: 'alert', at: T0 });
    checkIn(a2.doc, { partnerId: A, date: DAY, safety: 8, state: 'calm', at: T0 + 1 });
    run.send(a1, 'merged');
    run.send(a2, 'merged');
    // a1, still offline, corrects its own (now lost) check-in.
    checkIn(a1.doc, { partnerId: A, date: DAY, safety: 4, state: 'alert', at: T0 + 2 });
    const [late] = run.send(a1, 'merged');
    expect(run.log.slice(-3).map((e) => [e.verdict.ok, e.oracle.ok])).toEqual([
      [true, true],
      [true, true],
      [true, true],
    ]);
    expect(late).toBeDefined();
    expect(getCheckin(run.sequenced, DAY, A)).toMatchObject({ safety: 8 });
  });
});
