import {
  addPartner,
  checkIn,
  initSpace,
  listCheckins,
  listPartners,
  offerSealingKeys,
  roots,
  setDisplayName,
} from '@mend/model';
import { decodeEnvelope, EnvelopeKind, type PartnerId } from '@mend/protocol';
import { IDBFactory as FakeIDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { equalBytes, fromBase64Url, toBase64Url } from '../bytes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { newDeviceIdentity, type DeviceIdentity } from '../identity.js';
import { inviteCodeFor, openWelcome, parseInviteSecret } from '../invite.js';
import { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import {
  adoptPlaintextCopy,
  conversionPlan,
  COOKIE_TOKEN,
  forgetSealingIdentity,
  loadOrMakeSealingIdentity,
  receiveSealedKey,
  sealingOffer,
  sealPlaintextSpace,
  type SealSpaceInput,
} from './conversion.js';
import { SealedApiError } from './http.js';
import { openLocalCopy } from './localCopy.js';
import { SealedReplica } from './SealedReplica.js';
import { SealedSession } from './SealedSession.js';
import { FakeServer, until } from './testing/fakeServer.js';
import { FakeSealServer } from './testing/sealServer.js';
import { ALEX, MemoryLog, SAM, spaceId, T0 } from './testing/sealedSpace.js';

const json = (doc: Y.Doc) => (roots(doc), doc.toJSON());
const sessions: SealedSession[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.destroy()));
});

interface PlainDevice {
  readonly partnerId: PartnerId;
  readonly factory: IDBFactory;
  readonly plain: Y.Doc;
  readonly token: string;
  identity: DeviceIdentity;
}

/** A space made before sealed spaces: each partner's device keeps keys and offered them. */
async function plaintextWorld() {
  const log = new MemoryLog();
  const alexPlain = new Y.Doc();
  initSpace(alexPlain, { name: 'Old space', createdAt: T0 });
  addPartner(alexPlain, { id: ALEX, displayName: 'Alex', joinedAt: T0, color: '#aa3355' });
  addPartner(alexPlain, { id: SAM, displayName: 'Sam', joinedAt: T0 + 1, color: '#3355aa' });
  const samPlain = new Y.Doc();
  Y.applyUpdate(samPlain, Y.encodeStateAsUpdate(alexPlain));
  const device = async (partnerId: PartnerId, plain: Y.Doc, token: string) => {
    const factory = new FakeIDBFactory();
    const identity = await loadOrMakeSealingIdentity(spaceId, { indexedDB: factory });
    offerSealingKeys(plain, { partnerId, ...sealingOffer(identity) });
    return { partnerId, factory, plain, token, identity } satisfies PlainDevice;
  };
  const alex = await device(ALEX, alexPlain, 'alex-token');
  const sam = await device(SAM, samPlain, 'sam-token');
  plainSync(alexPlain, samPlain);
  const http = new FakeSealServer(log, [ALEX, SAM], { 'alex-token': ALEX, 'sam-token': SAM });
  const options = (d: PlainDevice) => ({
    fetch: http.fetch,
    indexedDB: d.factory,
    retryPausesMs: [0, 0, 0],
  });
  const sealInput = (d: PlainDevice, more: Partial<SealSpaceInput> = {}): SealSpaceInput => ({
    spaceId,
    partnerId: d.partnerId,
    identity: d.identity,
    doc: d.plain,
    partners: [ALEX, SAM],
    token: d.token,
    withInvite: false,
    ...more,
  });
  return { log, alex, sam, http, options, sealInput };
}

function plainSync(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
}

describe('converting a plaintext space', () => {
  it('keeps one sealing identity per space and device across reloads and tabs, until forgotten', async () => {
    const factory = new FakeIDBFactory();
    const [first, second] = await Promise.all([
      loadOrMakeSealingIdentity(spaceId, { indexedDB: factory }),
      loadOrMakeSealingIdentity(spaceId, { indexedDB: factory }),
    ]);
    expect(equalBytes(first.signing.secretKey, second.signing.secretKey)).toBe(true);
    const again = await loadOrMakeSealingIdentity(spaceId, { indexedDB: factory });
    expect(sealingOffer(again)).toEqual(sealingOffer(first));
    // A database with keys for sealing but no membership is no sealed space on this device.
    await expect(openLocalCopy(spaceId, new Y.Doc(), { indexedDB: factory })).rejects.toThrow(
      expect.objectContaining({ reason: SealedErrorReason.noSecrets }),
    );
    await forgetSealingIdentity(spaceId, { indexedDB: factory });
    expect(await LocalSpaceStore.exists(spaceId, { indexedDB: factory })).toBe(false);
    const fresh = await loadOrMakeSealingIdentity(spaceId, { indexedDB: factory });
    expect(sealingOffer(fresh)).not.toEqual(sealingOffer(first));
  });

  it('plans: wait for every partner’s offer, never convert on a device whose offer another replaced', async () => {
    const doc = new Y.Doc();
    initSpace(doc, { name: '', createdAt: T0 });
    addPartner(doc, { id: ALEX, displayName: 'Alex', joinedAt: T0, color: '#aa3355' });
    addPartner(doc, { id: SAM, displayName: 'Sam', joinedAt: T0 + 1, color: '#3355aa' });
    const alex = newDeviceIdentity();
    const sam = newDeviceIdentity();
    const me = { partnerId: ALEX, identity: alex };
    expect(conversionPlan(doc, [ALEX, SAM], me)).toEqual({ kind: 'wait', missing: [ALEX, SAM] });
    offerSealingKeys(doc, { partnerId: ALEX, ...sealingOffer(alex) });
    expect(conversionPlan(doc, [ALEX, SAM], me)).toEqual({ kind: 'wait', missing: [SAM] });
    // With one partner, at once.
    expect(conversionPlan(doc, [ALEX], me)).toEqual({
      kind: 'convert',
      devices: [
        {
          partnerId: ALEX,
          signingKey: alex.signing.publicKey,
          agreementKey: alex.agreement.publicKey,
        },
      ],
    });
    offerSealingKeys(doc, { partnerId: SAM, ...sealingOffer(sam) });
    const plan = conversionPlan(doc, [ALEX, SAM], me);
    expect(plan.kind === 'convert' && plan.devices.map((d) => d.partnerId)).toEqual([ALEX, SAM]);
    // Sam's seat, seen from a second device of Sam's that offered earlier.
    expect(
      conversionPlan(doc, [ALEX, SAM], { partnerId: SAM, identity: newDeviceIdentity() }),
    ).toEqual({ kind: 'not-mine' });
    expect(() => conversionPlan(doc, [SAM], me)).toThrow(RangeError);
  });

  it('seals the space on one device and hands the key to the other, which opens its box', async () => {
    const w = await plaintextWorld();
    const sealed = await sealPlaintextSpace(w.sealInput(w.alex), w.options(w.alex));
    if (sealed.kind !== 'sealed') throw new Error(sealed.kind);
    expect(sealed.inviteSecret).toBeNull();
    expect(sealed.log?.map((e) => e.seq)).toEqual([1, 2]);
    expect(sealed.log?.map((e) => decodeEnvelope(e.bytes).kind)).toEqual([
      EnvelopeKind.member,
      EnvelopeKind.carried,
    ]);
    // What went to the server: public keys, one box (Sam's), the two envelopes; with the token.
    const body = JSON.parse(String(w.http.requests[0]!.init.body)) as {
      devices: { partnerId: string; box?: string; signingKey: string }[];
    };
    expect(body.devices.map((d) => [d.partnerId, d.box !== undefined])).toEqual([
      [ALEX, false],
      [SAM, true],
    ]);
    expect(new Headers(w.http.requests[0]!.init.headers).get('authorization')).toBe(
      'Bearer alex-token',
    );
    expect(w.http.requests[0]!.init.credentials).toBe('same-origin');
    const { membership } = sealed;
    expect(membership.token).toBe('alex-token');
    expect(equalBytes(membership.creator, w.alex.identity.signing.publicKey)).toBe(true);

    const samMembership = await receiveSealedKey(
      { spaceId, partnerId: SAM, identity: w.sam.identity, token: w.sam.token },
      w.options(w.sam),
    );
    expect(samMembership).not.toBeNull();
    expect(samMembership!.keyring.get(1)!.spaceKey).toEqual(membership.keyring.get(1)!.spaceKey);
    expect(equalBytes(samMembership!.creator, membership.creator)).toBe(true);
    expect(samMembership!.seatSecret).not.toEqual(membership.seatSecret);

    // Any device verifies the log: Alex's statement, then the genesis: Alex's plaintext copy.
    const reader = new SealedReplica({
      doc: new Y.Doc(),
      keyring: samMembership!.keyring,
      creator: samMembership!.creator,
    });
    for (const [i, bytes] of w.log.entries.entries()) reader.receive(i + 1, bytes);
    expect(reader.setAside).toEqual([]);
    expect(json(reader.doc)).toEqual(json(w.alex.plain));
  });

  it('sends a new sealed invite that names the converting device, when asked', async () => {
    const w = await plaintextWorld();
    const alone = { ...w.sealInput(w.alex), partners: [ALEX], withInvite: true };
    const http = new FakeSealServer(w.log, [ALEX], { 'alex-token': ALEX });
    const sealed = await sealPlaintextSpace(alone, { ...w.options(w.alex), fetch: http.fetch });
    if (sealed.kind !== 'sealed') throw new Error(sealed.kind);
    const secret = parseInviteSecret(sealed.inviteSecret!);
    expect(http.sealed?.invite?.inviteCode).toBe(inviteCodeFor(secret));
    const welcome = openWelcome(secret, fromBase64Url(http.sealed!.invite!.welcome));
    expect(welcome.spaceKey).toEqual(sealed.membership.keyring.get(1)!.spaceKey);
    expect(welcome.creatorSigningKey).toEqual(w.alex.identity.signing.publicKey);
  });

  it('finds its conversion landed when the answer was lost, with the key it sealed with', async () => {
    const w = await plaintextWorld();
    w.http.loseNextAnswer = true;
    const sealed = await sealPlaintextSpace(w.sealInput(w.alex), w.options(w.alex));
    expect(sealed).toMatchObject({ kind: 'sealed', log: null });
    expect(w.http.requests.map((r) => [r.init.method, r.url.split('/').at(-1)])).toEqual([
      ['POST', 'seal'],
      ['POST', 'seal'],
      ['GET', 'key'],
    ]);
    const sam = await receiveSealedKey(
      { spaceId, partnerId: SAM, identity: w.sam.identity, token: w.sam.token },
      w.options(w.sam),
    );
    if (sealed.kind !== 'sealed') throw new Error(sealed.kind);
    expect(sam!.keyring.get(1)!.spaceKey).toEqual(sealed.membership.keyring.get(1)!.spaceKey);
    // A page that died before adopting the copy finds the same key through the receiving path.
    const again = await receiveSealedKey(
      { spaceId, partnerId: ALEX, identity: w.alex.identity, token: w.alex.token },
      w.options(w.alex),
    );
    expect(again!.keyring.get(1)!.spaceKey).toEqual(sealed.membership.keyring.get(1)!.spaceKey);
    expect(again!.seatSecret).toEqual(sealed.membership.seatSecret);
  });

  it('goes to the receiving side when the other partner’s device sealed first', async () => {
    const w = await plaintextWorld();
    await sealPlaintextSpace(w.sealInput(w.alex), w.options(w.alex));
    const late = await sealPlaintextSpace(w.sealInput(w.sam), w.options(w.sam));
    expect(late).toEqual({ kind: 'sealed-by-other' });
    expect(w.log.entries).toHaveLength(2);
    const sam = await receiveSealedKey(
      { spaceId, partnerId: SAM, identity: w.sam.identity, token: w.sam.token },
      w.options(w.sam),
    );
    expect(equalBytes(sam!.creator, w.alex.identity.signing.publicKey)).toBe(true);
  });

  it('sends nothing until the plan says convert, and refuses a copy that cannot be the genesis', async () => {
    const w = await plaintextWorld();
    const three = [ALEX, SAM, 'partnerCCCCCCCCCCCCC' as PartnerId];
    expect(
      await sealPlaintextSpace({ ...w.sealInput(w.alex), partners: three }, w.options(w.alex)),
    ).toEqual({ kind: 'not-ready', plan: { kind: 'wait', missing: [three[2]] } });
    expect(w.http.requests).toEqual([]);

    // A copy Yjs holds only in part (an update whose predecessor never arrived).
    const other = new Y.Doc();
    other.getText('t').insert(0, 'a');
    const before = Y.encodeStateVector(other);
    other.getText('t').insert(1, 'b');
    Y.applyUpdate(w.alex.plain, Y.encodeStateAsUpdate(other, before));
    await expect(sealPlaintextSpace(w.sealInput(w.alex), w.options(w.alex))).rejects.toThrow(
      /incomplete/,
    );
    expect(w.http.requests).toEqual([]);
  });

  it('passes on a refusal that is not “sealed already”', async () => {
    const w = await plaintextWorld();
    const http = new FakeSealServer(w.log, [ALEX], { 'alex-token': ALEX });
    const refused = sealPlaintextSpace(w.sealInput(w.alex), {
      ...w.options(w.alex),
      fetch: http.fetch,
    });
    await expect(refused).rejects.toBeInstanceOf(SealedApiError);
    await expect(refused).rejects.toMatchObject({ status: 409 });
    expect(http.sealed).toBeNull();
  });

  it('receives nothing before the space is sealed, and refuses a box for another device or from another creator', async () => {
    const w = await plaintextWorld();
    const input = { spaceId, partnerId: SAM, identity: w.sam.identity, token: w.sam.token };
    expect(await receiveSealedKey(input, w.options(w.sam))).toBeNull();
    await sealPlaintextSpace(w.sealInput(w.alex), w.options(w.alex));
    const secondDevice = { ...input, identity: newDeviceIdentity() };
    await expect(receiveSealedKey(secondDevice, w.options(w.sam))).rejects.toMatchObject({
      reason: SealedErrorReason.badCiphertext,
    });
    // The server swaps the creator it names for another device.
    const stranger = newDeviceIdentity();
    w.http.sealed!.devices[0]!.signingKey = toBase64Url(stranger.signing.publicKey);
    await expect(receiveSealedKey(input, w.options(w.sam))).rejects.toThrow(SealedError);
    await expect(receiveSealedKey(input, w.options(w.sam))).rejects.toMatchObject({
      reason: SealedErrorReason.badKey,
    });
  });

  it('uses the cookie in the browser: no Authorization header, and a placeholder token', async () => {
    const w = await plaintextWorld();
    const http = new FakeSealServer(w.log, [ALEX, SAM], { cookie: ALEX });
    const sealed = await sealPlaintextSpace(
      { ...w.sealInput(w.alex), token: null },
      { ...w.options(w.alex), fetch: http.fetch },
    );
    expect(new Headers(http.requests[0]!.init.headers).has('authorization')).toBe(false);
    expect(sealed.kind === 'sealed' && sealed.membership.token).toBe(COOKIE_TOKEN);
  });

  it('turns both plaintext copies into sealed ones that open offline, and carries over what was written offline', async () => {
    const w = await plaintextWorld();
    // Sam wrote this while offline: the plaintext server never saw it.
    checkIn(w.sam.plain, { partnerId: SAM, date: '2026-11-03', safety: 8, state: 'calm', at: T0 });
    setDisplayName(w.sam.plain, { partnerId: SAM, displayName: 'Samuel' });
    const sealed = await sealPlaintextSpace(w.sealInput(w.alex), w.options(w.alex));
    if (sealed.kind !== 'sealed') throw new Error(sealed.kind);
    const samMembership = await receiveSealedKey(
      { spaceId, partnerId: SAM, identity: w.sam.identity, token: w.sam.token },
      w.options(w.sam),
    );
    const alexStore = { indexedDB: w.alex.factory };
    const samStore = { indexedDB: w.sam.factory };
    expect(
      await adoptPlaintextCopy(
        { membership: sealed.membership, doc: w.alex.plain, log: sealed.log },
        alexStore,
      ),
    ).toBe(true);
    expect(
      await adoptPlaintextCopy({ membership: samMembership!, doc: w.sam.plain }, samStore),
    ).toBe(true);
    // Once: a second adoption keeps the first membership.
    expect(
      await adoptPlaintextCopy({ membership: samMembership!, doc: w.sam.plain }, samStore),
    ).toBe(false);

    const server = new FakeServer(w.log);
    const open = async (factory: IDBFactory, connect: boolean) => {
      const session = await SealedSession.open({
        spaceId,
        doc: new Y.Doc(),
        awareness: null,
        openSocket: server.openSocket,
        indexedDB: factory,
        reconnectDelay: () => null,
        savePauseMs: 0,
        connect,
      });
      sessions.push(session);
      return session;
    };
    // Offline at once, with the whole copy, and Alex's replica already past the genesis.
    const alexOffline = await open(w.alex.factory, false);
    expect(json(alexOffline.replica.doc)).toEqual(json(w.alex.plain));
    expect(alexOffline.replica.since).toBe(2);
    await alexOffline.destroy();

    const alex = await open(w.alex.factory, true);
    const sam = await open(w.sam.factory, true);
    const carried: boolean[] = [];
    sam.on('carried', (c) => carried.push(c));
    await until(
      () => sam.provider.synced && sam.waiting === 0,
      'Sam’s statement and carried changes',
    );
    await until(() => alex.replica.since === w.log.entries.length, 'Alex taking them in');
    expect(carried).toEqual([true]);
    expect(w.log.entries.map((e) => decodeEnvelope(e).kind)).toEqual([
      EnvelopeKind.member,
      EnvelopeKind.carried,
      EnvelopeKind.member,
      EnvelopeKind.carried,
    ]);
    expect(alex.setAside()).toEqual([]);
    expect(listCheckins(alex.replica.doc).map((c) => c.partnerId)).toEqual([SAM]);
    expect(listPartners(alex.replica.doc)[1]?.displayName).toBe('Samuel');
    expect(json(alex.replica.doc)).toEqual(json(sam.replica.doc));
    // Carried once: the copy is gone from both stores.
    await Promise.all([alex.flush(), sam.flush()]);
    for (const factory of [w.alex.factory, w.sam.factory]) {
      const store = await LocalSpaceStore.open(spaceId, { indexedDB: factory });
      expect((await store.load()).carry).toBeNull();
      expect(await store.loadSealing()).toBeNull();
      store.close();
    }
  });
});
