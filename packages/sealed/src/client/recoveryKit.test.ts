import type { PartnerId } from '@mend/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../bytes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { newDeviceIdentity, type DeviceIdentity } from '../identity.js';
import { openLinkBox, sealLinkBox } from '../link.js';
import {
  deriveRecoveryDevice,
  formatRecoveryCode,
  newRecoveryCode,
  parseRecoveryCode,
  parseRecoveryFragment,
} from '../recovery.js';
import { newSeatSecret } from '../reveal.js';
import { COOKIE_TOKEN } from './conversion.js';
import { recoverSeat } from './recoverSeat.js';
import {
  currentRecoveryDevice,
  makeRecoveryKit,
  RecoveryError,
  RecoveryErrorReason,
} from './recoveryKit.js';
import type { SealedSession } from './SealedSession.js';
import { until } from './testing/fakeServer.js';
import { ALEX, SAM, spaceId } from './testing/sealedSpace.js';
import { pageOf, sessionWorld } from './testing/session.js';

const opened: SealedSession[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.destroy()));
});

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
  readonly body: Record<string, unknown> | null;
}

/**
 * The server's recovery routes as the devices see them over `fetch` (docs/api.md, "Recovery
 * kit"): PUT keeps a seat's kit (204, and 204 again for the same body), DELETE removes a device,
 * the challenge and the recovery answer as `answerRecovery` says.
 */
class FakeRecoveryRoutes {
  readonly sent: Sent[] = [];
  readonly kits: Record<string, unknown>[] = [];
  readonly removed: string[] = [];
  /** The next PUT is carried out but its answer is lost (fetch rejects). */
  losePutAnswer = false;
  answerRecovery: () => Response = () => json(403, { error: 'Not this code.' });

  constructor(readonly callers: Readonly<Record<string, PartnerId>>) {}

  readonly fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const path = new URL(url, 'http://mend.test').pathname;
    const authorization = new Headers(init.headers).get('authorization');
    const body =
      typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : null;
    const method = init.method ?? 'GET';
    this.sent.push({ method, path, authorization, body });
    if (path === `/api/sealed-spaces/${spaceId}/recovery/challenge`) {
      return json(201, { challenge: 'c'.repeat(22) });
    }
    if (path === `/api/sealed-spaces/${spaceId}/recovery` && method === 'POST') {
      return this.answerRecovery();
    }
    const caller = this.callers[authorization?.replace(/^Bearer /, '') ?? 'cookie'];
    if (!caller) return json(401, { error: 'Who are you?' });
    const seat =
      /^\/(?:api\/sealed-spaces|sync)\/([^/]+)\/(recovery|epoch-boxes|devices\/([^/]+))$/.exec(
        path,
      );
    if (!seat || seat[1] !== spaceId) return json(404, { error: 'No such route.' });
    if (method === 'DELETE' && seat[3]) {
      this.removed.push(seat[3]);
      return new Response(null, { status: 204 });
    }
    // A removal leaves the new epoch's boxes with the server (docs/protocol.md).
    if (method === 'PUT' && seat[2] === 'epoch-boxes') return new Response(null, { status: 204 });
    if (method === 'PUT' && seat[2] === 'recovery') {
      const same = this.kits.find((k) => JSON.stringify(k) === JSON.stringify(body));
      if (!same) this.kits.push(body!);
      if (this.losePutAnswer) {
        this.losePutAnswer = false;
        throw new TypeError('fetch failed');
      }
      return new Response(null, { status: 204 });
    }
    return json(404, { error: 'No such route.' });
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** Alex's phone (a session, synced) with Sam in the space; `before` writes into the log first. */
async function world(before: (w: Awaited<ReturnType<typeof sessionWorld>>) => void = () => {}) {
  const w = await sessionWorld();
  before(w);
  const routes = new FakeRecoveryRoutes({ token: ALEX, cookie: ALEX });
  const phone = await pageOf(w, opened);
  await until(() => phone.provider.synced, 'the phone to sync');
  const options = { fetch: routes.fetch, retryPausesMs: [0, 0, 0], origin: 'https://mend.test/' };
  return { ...w, routes, phone, options };
}

describe('making a recovery kit', () => {
  it('links the code’s device into Alex’s seat, then leaves the kit with the server (sent again after a lost answer)', async () => {
    const w = await world();
    w.routes.losePutAnswer = true;
    const kit = await makeRecoveryKit(w.phone, w.options);

    expect(kit.code).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
    expect(kit.address).toBe(`https://mend.test/recover/${spaceId}`);
    expect(kit.link).toBe(`${kit.address}#r=${kit.code}`);
    const code = parseRecoveryFragment(new URL(kit.link).hash)!;
    expect(code).toEqual(parseRecoveryCode(kit.code));

    // The same PUT twice (the first answer was lost), to the api path with the phone's token.
    const puts = w.routes.sent.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(2);
    expect(puts[1]).toEqual(puts[0]);
    expect(puts[0]).toMatchObject({
      path: `/api/sealed-spaces/${spaceId}/recovery`,
      authorization: 'Bearer token',
    });
    expect(w.routes.kits).toHaveLength(1);

    // The kit's device is the code's, linked at linkSeq; its box opens with the code alone.
    const recovery = await deriveRecoveryDevice(code, spaceId);
    const body = w.routes.kits[0]!;
    expect(body['signingKey']).toBe(toBase64Url(recovery.signing.publicKey));
    expect(body['agreementKey']).toBe(toBase64Url(recovery.agreement.publicKey));
    const link = w.phone.replica.linkFor(recovery.signing.publicKey);
    expect(link).toMatchObject({ recovery: true, seq: body['linkSeq'] });
    const box = openLinkBox(recovery, fromBase64Url(body['box'] as string))!;
    expect(box.seatSecret).toEqual(w.phone.membership.seatSecret);
    expect(box.creatorSigningKey).toEqual(w.space.creator.signing.publicKey);
    expect(box.epochs.map((e) => e.epoch)).toEqual([1]);
    expect(box.epochs[0]!.spaceKey).toEqual(w.phone.membership.keyring.get(1)!.spaceKey);

    // Sam's device lists it as Alex's recovery kit, not announced.
    w.sam.sync();
    expect(w.sam.replica.setAside).toEqual([]);
    expect(currentRecoveryDevice(w.sam.replica, ALEX)).toMatchObject({
      signingKey: body['signingKey'],
      partnerId: ALEX,
      recovery: true,
      announced: false,
    });
    expect(currentRecoveryDevice(w.sam.replica, SAM)).toBeNull();
  });

  it('a seat with a kit: refused unless the caller replaces it, then the old one is removed first (with the cookie)', async () => {
    let old: DeviceIdentity | null = null;
    const w = await world((w) => {
      old = newDeviceIdentity();
      w.alex.recoveryLink(old);
    });
    const oldKey = toBase64Url(old!.signing.publicKey);
    expect(currentRecoveryDevice(w.phone.replica, ALEX)?.signingKey).toBe(oldKey);

    const refused = await makeRecoveryKit(w.phone, w.options).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RecoveryError);
    expect((refused as RecoveryError).reason).toBe(RecoveryErrorReason.kitExists);
    expect(w.routes.sent).toEqual([]);

    const cookieSession = {
      membership: { ...w.phone.membership, token: COOKIE_TOKEN },
      provider: w.phone.provider,
      replica: w.phone.replica,
      keepKeys: () => w.phone.keepKeys(),
    };
    await makeRecoveryKit(cookieSession, { ...w.options, replacing: old!.signing.publicKey });
    expect(w.routes.sent.map((r) => [r.method, r.path, r.authorization])).toEqual([
      ['DELETE', `/sync/${spaceId}/devices/${oldKey}`, null],
      ['PUT', `/sync/${spaceId}/epoch-boxes`, null],
      ['PUT', `/sync/${spaceId}/recovery`, null],
    ]);
    // The old kit is out from a new epoch, whose key the new kit's box carries.
    expect(w.phone.replica.standing.removedAt(oldKey)).not.toBeNull();
    const now = currentRecoveryDevice(w.phone.replica, ALEX);
    expect(now?.signingKey).toBe(w.routes.kits[0]!['signingKey']);
    w.sam.sync();
    expect(w.sam.replica.setAside).toEqual([]);
    expect(currentRecoveryDevice(w.sam.replica, ALEX)?.signingKey).toBe(now?.signingKey);
  });

  it('refuses on a device that is not in the space', async () => {
    const w = await world();
    const stranger = {
      ...w.phone,
      membership: { ...w.phone.membership, identity: newDeviceIdentity() },
      provider: w.phone.provider,
      replica: w.phone.replica,
      keepKeys: () => w.phone.keepKeys(),
    };
    await expect(makeRecoveryKit(stranger, w.options)).rejects.toMatchObject({
      reason: RecoveryErrorReason.notMember,
    });
  });
});

describe('recovering a seat (what fails before any device is opened)', () => {
  const noSession = () => Promise.reject(new Error('no session should be opened'));

  it('a typo is refused before the slow derivation and before the server is asked', async () => {
    const routes = new FakeRecoveryRoutes({});
    const steps: string[] = [];
    const written = formatRecoveryCode(newRecoveryCode());
    // One character wrong (the first): the check always catches it.
    const typo = (written[0] === '7' ? '8' : '7') + written.slice(1);
    const error = await recoverSeat(spaceId, typo, {
      fetch: routes.fetch,
      step: (s) => steps.push(s),
      openSession: noSession,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SealedError);
    expect((error as SealedError).reason).toBe(SealedErrorReason.malformed);
    expect(steps).toEqual([]);
    expect(routes.sent).toEqual([]);
  });

  it('a wrong code is “This code does not open this space”; too many say when to try again', async () => {
    const routes = new FakeRecoveryRoutes({});
    const valid = formatRecoveryCode(newRecoveryCode());
    const hooks = { fetch: routes.fetch, retryPausesMs: [0], openSession: noSession };
    const wrong = await recoverSeat(spaceId, valid, hooks).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(RecoveryError);
    expect((wrong as RecoveryError).reason).toBe(RecoveryErrorReason.wrongCode);
    expect((wrong as RecoveryError).message).toMatch(/^This code does not open this space/);
    expect(routes.sent.map((r) => r.path)).toEqual([
      `/api/sealed-spaces/${spaceId}/recovery/challenge`,
      `/api/sealed-spaces/${spaceId}/recovery`,
    ]);

    routes.answerRecovery = () => json(429, { error: 'Too many.' }, { 'Retry-After': '3000' });
    const limited = await recoverSeat(spaceId, valid, hooks).catch((e: unknown) => e);
    expect(limited).toMatchObject({ reason: RecoveryErrorReason.tooMany, retryAfterSeconds: 3000 });
    expect((limited as RecoveryError).message).toMatch(/try again in 50 minutes/);
  });

  it('a kit box that names another creator than the server does is refused', async () => {
    const routes = new FakeRecoveryRoutes({});
    const code = newRecoveryCode();
    const recovery = await deriveRecoveryDevice(code, spaceId);
    const box = sealLinkBox(recovery.agreement.publicKey, {
      epochs: [{ epoch: 1, spaceKey: new Uint8Array(32).fill(1) }],
      creatorSigningKey: new Uint8Array(32).fill(2),
      seatSecret: newSeatSecret(),
    });
    routes.answerRecovery = () =>
      json(201, {
        partnerId: ALEX,
        token: 'recovered',
        box: toBase64Url(box),
        creator: { signingKey: toBase64Url(new Uint8Array(32).fill(3)), agreementKey: 'x' },
      });
    const error = await recoverSeat(spaceId, formatRecoveryCode(code), {
      fetch: routes.fetch,
      openSession: noSession,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SealedError);
    expect((error as SealedError).reason).toBe(SealedErrorReason.badKey);
  });
});
