import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { Writable } from 'node:stream';
import { CloseCode, SEALED_SUBPROTOCOL, fieldMessage, type SpaceId } from '@mend/protocol';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../config.js';
import { RECOVERY_CHALLENGE_MS } from '../spaces/DeviceRoster.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import {
  b64,
  bearer,
  deviceKeys,
  httpTestServers,
  postJson,
  sealedPair,
  type RunningServer,
  type Seat,
} from './httpApi.testkit.js';

const servers = httpTestServers();
/** The clock challenges expire and failures age by: tests move it forward, never back. */
let clock = Date.now();

function start(
  overrides: Partial<Config> = {},
  options: { log?: Logger; storage?: MemoryAdapter } = {},
): Promise<RunningServer> {
  return servers.start(overrides, { ...options, now: () => clock });
}

let app: RunningServer;

beforeAll(async () => {
  app = await start();
});

const HOUR_S = 60 * 60;

/**
 * A recovery device's keys as a device derives them from the code: an Ed25519 key (made here
 * with node:crypto, which signs the same RFC 8032 signatures) and an agreement key.
 */
function recoveryKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { signingKey: jwk.x ?? '', agreementKey: b64(randomBytes(32)), privateKey };
}
type RecoveryKeys = ReturnType<typeof recoveryKeys>;

function proof(spaceId: string, challenge: string, privateKey: KeyObject): string {
  const message = Buffer.from(`mend/v1/recover\0${spaceId}\0${challenge}`, 'utf8');
  return b64(sign(null, message, privateKey));
}

function send(
  method: string,
  pathname: string,
  body?: unknown,
  headers: Record<string, string> = {},
  base = app.url,
): Promise<Response> {
  return fetch(base + pathname, {
    method,
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const recoveryPath = (spaceId: string) => `/api/sealed-spaces/${spaceId}/recovery`;

function kitOf(keys: RecoveryKeys, linkSeq = 4) {
  return {
    signingKey: keys.signingKey,
    agreementKey: keys.agreementKey,
    box: b64(randomBytes(40 + 96)),
    linkSeq,
  };
}

function putKit(
  by: Seat,
  kit: unknown,
  headers = bearer(by.token),
  { base = app.url, path = `/sync/${by.spaceId}/recovery` } = {},
): Promise<Response> {
  return send('PUT', path, kit, headers, base);
}

function askChallenge(spaceId: string, base = app.url): Promise<Response> {
  return send('POST', `${recoveryPath(spaceId)}/challenge`, undefined, {}, base);
}

async function challengeOf(spaceId: string, base = app.url): Promise<string> {
  const response = await askChallenge(spaceId, base);
  expect(response.status).toBe(201);
  return ((await response.json()) as { challenge: string }).challenge;
}

function recover(spaceId: string, body: unknown, base = app.url): Promise<Response> {
  return send('POST', recoveryPath(spaceId), body, {}, base);
}

/** A recovery with a fresh challenge, signed as the recovery device signs it. */
async function recoverWith(spaceId: string, keys: RecoveryKeys, base = app.url) {
  const challenge = await challengeOf(spaceId, base);
  const body = {
    signingKey: keys.signingKey,
    challenge,
    signature: proof(spaceId, challenge, keys.privateKey),
  };
  return { response: await recover(spaceId, body, base), body };
}

async function statusAndError(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as { error: string }).error];
}

function whoAmI(spaceId: string, token: string): Promise<Response> {
  return fetch(`${app.url}/sync/${spaceId}`, { headers: bearer(token) });
}

/** Opens a sealed socket and resolves once it is open, with a promise of its close code. */
function openSocket(
  spaceId: string,
  token: string,
): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(
    `${app.url.replace('http', 'ws')}/sync/${spaceId}`,
    [SEALED_SUBPROTOCOL],
    {
      headers: bearer(token),
    },
  );
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

const REFUSED =
  'This recovery code does not open this space, or the attempt took too long. Please check the code and try again.';

describe('the recovery kit', () => {
  it('adds the seat’s recovery device, and a recovery gives it a token, the box and the space’s cookie', async () => {
    const { alex } = await sealedPair(app.url);
    const keys = recoveryKeys();
    const kit = kitOf(keys);
    const stored = await putKit(alex, kit);
    expect(stored.status).toBe(204);
    expect(await stored.text()).toBe('');
    // Sent again after a lost answer: unchanged.
    expect((await putKit(alex, kit)).status).toBe(204);
    const listed = (await (await whoAmIList(alex)).json()) as {
      devices: { signingKey: string; partnerId: string; recovery: boolean }[];
    };
    expect(listed.devices.filter((d) => d.recovery)).toEqual([
      expect.objectContaining({ signingKey: keys.signingKey, partnerId: alex.partnerId }),
    ]);

    const challenged = await askChallenge(alex.spaceId);
    expect(challenged.status).toBe(201);
    expect(challenged.headers.get('cache-control')).toBe('no-store');
    const { challenge } = (await challenged.json()) as { challenge: string };
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const signature = proof(alex.spaceId, challenge, keys.privateKey);
    const recovered = await recover(alex.spaceId, {
      signingKey: keys.signingKey,
      challenge,
      signature,
    });
    expect(recovered.status).toBe(201);
    const answer = (await recovered.json()) as { token: string };
    expect(answer).toEqual({
      partnerId: alex.partnerId,
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown,
      box: kit.box,
      creator: { signingKey: alex.signingKey, agreementKey: alex.agreementKey },
    });
    expect(recovered.headers.get('set-cookie')).toBe(
      `mend_${alex.spaceId}=${answer.token}; Path=/sync/${alex.spaceId}; HttpOnly; SameSite=Strict; Max-Age=34560000`,
    );
    expect(await (await whoAmI(alex.spaceId, answer.token)).json()).toEqual({
      spaceId: alex.spaceId,
      partnerId: alex.partnerId,
      sealed: true,
      signingKey: keys.signingKey,
    });
    // The same challenge works once.
    const [again, againError] = await statusAndError(
      await recover(alex.spaceId, { signingKey: keys.signingKey, challenge, signature }),
    );
    expect([again, againError]).toEqual([403, REFUSED]);

    // A second recovery with a new challenge: a new token, and the first one stops.
    const { response: second } = await recoverWith(alex.spaceId, keys);
    expect(second.status).toBe(201);
    const secondToken = ((await second.json()) as { token: string }).token;
    expect((await whoAmI(alex.spaceId, secondToken)).status).toBe(200);
    expect((await whoAmI(alex.spaceId, answer.token)).status).toBe(401);
  });

  it('replaces the seat’s earlier recovery device with a new kit, closing its sockets with 4401', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const first = recoveryKeys();
    expect((await putKit(alex, kitOf(first))).status).toBe(204);
    const { response } = await recoverWith(alex.spaceId, first);
    const { token } = (await response.json()) as { token: string };
    const socket = await openSocket(alex.spaceId, token);
    const samsSocket = await openSocket(sam.spaceId, sam.token);

    const second = recoveryKeys();
    expect((await putKit(alex, kitOf(second))).status).toBe(204);
    expect(await socket.closed).toBe(CloseCode.revoked);
    expect((await whoAmI(alex.spaceId, token)).status).toBe(401);
    expect(samsSocket.ws.readyState).toBe(WebSocket.OPEN);
    samsSocket.ws.close();
    const { response: old } = await recoverWith(alex.spaceId, first);
    expect(old.status).toBe(403);
    const { response: current } = await recoverWith(alex.spaceId, second);
    expect(current.status).toBe(201);
  });

  it('takes the kit at /sync with the cookie and the own Origin, and at /api with a Bearer token', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const cookie = { Cookie: `mend_${alex.spaceId}=${alex.token}` };
    expect((await putKit(alex, kitOf(recoveryKeys()), cookie)).status).toBe(403);
    expect(
      (await putKit(alex, kitOf(recoveryKeys()), { ...cookie, Origin: 'http://evil.example' }))
        .status,
    ).toBe(403);
    expect((await putKit(alex, kitOf(recoveryKeys()), { ...cookie, Origin: app.url })).status).toBe(
      204,
    );
    const api = { path: recoveryPath(sam.spaceId) };
    expect((await putKit(sam, kitOf(recoveryKeys()), bearer(sam.token), api)).status).toBe(204);
  });

  describe('refuses', () => {
    it('a kit whose key is a device of the space 409, a bad body 400, a plaintext space 409, no credential 401', async () => {
      const { alex, sam } = await sealedPair(app.url);
      const samsKeys = { ...recoveryKeys(), signingKey: sam.signingKey };
      const [taken, takenError] = await statusAndError(await putKit(alex, kitOf(samsKeys)));
      expect(taken).toBe(409);
      expect(takenError).toMatch(/already a device of this space/);
      const kit = kitOf(recoveryKeys());
      expect((await putKit(alex, kit)).status).toBe(204);
      // The same key with another box is another kit: taken.
      expect((await putKit(alex, { ...kit, box: b64(randomBytes(50)) })).status).toBe(409);
      expect((await putKit(sam, kit)).status).toBe(409);

      expect(await statusAndError(await putKit(alex, { ...kit, box: '' }))).toEqual([
        400,
        fieldMessage.box,
      ]);
      expect(
        await statusAndError(await putKit(alex, { ...kit, box: b64(randomBytes(8193)) })),
      ).toEqual([400, fieldMessage.box]);
      expect(await statusAndError(await putKit(alex, { ...kit, linkSeq: 0 }))).toEqual([
        400,
        fieldMessage.linkSeq,
      ]);
      expect(await statusAndError(await putKit(alex, { ...kit, signingKey: 'short' }))).toEqual([
        400,
        fieldMessage.signingKey,
      ]);
      expect((await putKit(alex, kit, {})).status).toBe(401);
      expect((await putKit({ ...alex, spaceId: 'NoSuchSpace_0123456789' }, kit)).status).toBe(404);
      const plain = await postJson<Seat>('/api/spaces', { displayName: 'Robin' }, app.url);
      expect((await putKit(plain, kitOf(recoveryKeys()))).status).toBe(409);
    });

    it('a recovery with a wrong signature, an unknown key, a used or expired challenge 403 with one sentence', async () => {
      const { alex, sam } = await sealedPair(app.url);
      const keys = recoveryKeys();
      expect((await putKit(alex, kitOf(keys))).status).toBe(204);
      const stranger = recoveryKeys();

      const challenge = await challengeOf(alex.spaceId);
      const wrongSignature = proof(alex.spaceId, challenge, stranger.privateKey);
      const refusals = [
        { signingKey: keys.signingKey, challenge, signature: wrongSignature },
        {
          signingKey: stranger.signingKey,
          challenge: await challengeOf(alex.spaceId),
          signature: '',
        },
      ];
      const strangerChallenge = refusals[1]?.challenge ?? '';
      refusals[1] = {
        signingKey: stranger.signingKey,
        challenge: strangerChallenge,
        signature: proof(alex.spaceId, strangerChallenge, stranger.privateKey),
      };
      // An ordinary device's key (its secret is not the server's to have; a stranger's signature).
      const samChallenge = await challengeOf(alex.spaceId);
      refusals.push({
        signingKey: sam.signingKey,
        challenge: samChallenge,
        signature: proof(alex.spaceId, samChallenge, stranger.privateKey),
      });
      for (const body of refusals) {
        expect(await statusAndError(await recover(alex.spaceId, body))).toEqual([403, REFUSED]);
      }
      const expired = await challengeOf(alex.spaceId);
      clock += RECOVERY_CHALLENGE_MS;
      const late = {
        signingKey: keys.signingKey,
        challenge: expired,
        signature: proof(alex.spaceId, expired, keys.privateKey),
      };
      expect(await statusAndError(await recover(alex.spaceId, late))).toEqual([403, REFUSED]);
      // A challenge of another space, signed for this one.
      const other = await sealedPair(app.url);
      const elsewhere = await challengeOf(other.alex.spaceId);
      const crossed = {
        signingKey: keys.signingKey,
        challenge: elsewhere,
        signature: proof(alex.spaceId, elsewhere, keys.privateKey),
      };
      expect((await recover(alex.spaceId, crossed)).status).toBe(403);
    });

    it('a recovery of no such space 404 (before the body), a bad body 400, a plaintext space’s challenge 409', async () => {
      const { alex } = await sealedPair(app.url);
      expect((await recover('NoSuchSpace_0123456789', 'not json')).status).toBe(404);
      expect((await askChallenge('NoSuchSpace_0123456789')).status).toBe(404);
      expect((await recover(alex.spaceId, 'not json')).status).toBe(400);
      const keys = recoveryKeys();
      const challenge = await challengeOf(alex.spaceId);
      const body = {
        signingKey: keys.signingKey,
        challenge,
        signature: proof(alex.spaceId, challenge, keys.privateKey),
      };
      for (const bad of [
        { ...body, challenge: 'short' },
        { ...body, signature: b64(randomBytes(63)) },
        { ...body, signingKey: b64(randomBytes(31)) },
      ]) {
        const [status, error] = await statusAndError(await recover(alex.spaceId, bad));
        expect(status).toBe(400);
        expect(error).toMatch(/recovery code/);
      }
      const { signingKey: _, ...noKey } = body;
      expect(await statusAndError(await recover(alex.spaceId, noKey))).toEqual([
        400,
        fieldMessage.signingKey,
      ]);
      const plain = await postJson<Seat>('/api/spaces', { displayName: 'Robin' }, app.url);
      expect((await askChallenge(plain.spaceId)).status).toBe(409);
    });

    it('the challenge and the recovery at /sync (no credentials there), and methods a path does not take', async () => {
      const { alex } = await sealedPair(app.url);
      const sync = `/sync/${alex.spaceId}/recovery`;
      expect((await send('POST', `${sync}/challenge`)).status).toBe(404);
      const post = await send('POST', sync, {});
      expect([post.status, post.headers.get('allow')]).toEqual([405, 'PUT']);
      const get = await send('GET', recoveryPath(alex.spaceId));
      expect([get.status, get.headers.get('allow')]).toEqual([405, 'PUT, POST']);
      const getChallenge = await send('GET', `${recoveryPath(alex.spaceId)}/challenge`);
      expect([getChallenge.status, getChallenge.headers.get('allow')]).toEqual([405, 'POST']);
    });

    it('more than five failed recoveries of a space in an hour 429, on every process, even the right code', async () => {
      const storage = new MemoryAdapter();
      const one = await start({}, { storage });
      const two = await start({}, { storage });
      const { alex } = await sealedPair(one.url);
      const other = await sealedPair(one.url);
      const keys = recoveryKeys();
      expect((await putKit(alex, kitOf(keys), bearer(alex.token), { base: one.url })).status).toBe(
        204,
      );
      const othersKeys = recoveryKeys();
      const othersKit = kitOf(othersKeys);
      expect(
        (await putKit(other.alex, othersKit, bearer(other.alex.token), { base: one.url })).status,
      ).toBe(204);
      const stranger = recoveryKeys();
      for (let i = 0; i < 5; i++) {
        const { response } = await recoverWith(alex.spaceId, stranger, i % 2 ? two.url : one.url);
        expect(response.status).toBe(403);
      }
      const started = clock;
      for (const base of [one.url, two.url]) {
        const { response } = await recoverWith(alex.spaceId, keys, base);
        expect(response.status).toBe(429);
        expect(Number(response.headers.get('retry-after'))).toBe(HOUR_S);
        expect(((await response.json()) as { error: string }).error).toMatch(/last hour/);
      }
      // Another space is not held back.
      expect((await recoverWith(other.alex.spaceId, othersKeys, two.url)).response.status).toBe(
        201,
      );
      clock += 10 * 60_000;
      const { response: waiting } = await recoverWith(alex.spaceId, keys, two.url);
      expect(Number(waiting.headers.get('retry-after'))).toBe(HOUR_S - 600);
      clock = started + HOUR_S * 1000;
      expect((await recoverWith(alex.spaceId, keys, two.url)).response.status).toBe(201);
    });

    it('recovery requests past the address’s allowance 429', async () => {
      const limited = await start({ rateLimitPerMinute: 4 });
      const { alex } = await sealedPair(limited.url);
      const keys = recoveryKeys();
      // The create and the join spent two; the challenge a third, the recovery the fourth.
      const { response } = await recoverWith(alex.spaceId, keys, limited.url);
      expect(response.status).toBe(403);
      const refused = await askChallenge(alex.spaceId, limited.url);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).not.toBeNull();
    });

    it('a retried join that names a recovery device’s keys: no token for it', async () => {
      const inviteCode = b64(randomBytes(16));
      const alexKeys = deviceKeys();
      const alex = await postJson<Seat>(
        '/api/sealed-spaces',
        { ...alexKeys, inviteCode, welcome: b64(randomBytes(100)) },
        app.url,
      );
      const joinCode = b64(randomBytes(16));
      await postJson(
        `/api/sealed-spaces/${alex.spaceId}/welcome`,
        { inviteCode, joinCode },
        app.url,
      );
      await postJson(
        `/api/sealed-spaces/${alex.spaceId}/join`,
        { inviteCode: joinCode, ...deviceKeys() },
        app.url,
      );
      const keys = recoveryKeys();
      expect((await putKit(alex, kitOf(keys))).status).toBe(204);
      const retried = await send('POST', `/api/sealed-spaces/${alex.spaceId}/join`, {
        inviteCode: joinCode,
        signingKey: keys.signingKey,
        agreementKey: keys.agreementKey,
      });
      expect(retried.status).toBe(409);
      expect(retried.headers.get('set-cookie')).toBeNull();
    });
  });

  it('logs each step with the space, never a key, box, challenge, signature or token', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logged = await start({}, { log: pino({ level: 'debug' }, sink) });
    const { alex, sam } = await sealedPair(logged.url);
    const keys = recoveryKeys();
    const kit = kitOf(keys);
    expect((await putKit(alex, kit, bearer(alex.token), { base: logged.url })).status).toBe(204);
    const { response, body } = await recoverWith(alex.spaceId, keys, logged.url);
    const { token } = (await response.json()) as { token: string };
    const { response: refused, body: refusedBody } = await recoverWith(
      alex.spaceId,
      recoveryKeys(),
      logged.url,
    );
    expect(refused.status).toBe(403);
    const removed = await send(
      'DELETE',
      `/sync/${alex.spaceId}/devices/${sam.signingKey}`,
      undefined,
      bearer(alex.token),
      logged.url,
    );
    expect(removed.status).toBe(204);

    const text = lines.join('');
    const secrets = [
      keys.signingKey,
      keys.agreementKey,
      kit.box,
      body.challenge,
      body.signature,
      refusedBody.challenge,
      refusedBody.signature,
      token,
      sam.signingKey,
      alex.token,
    ];
    for (const secret of secrets) expect(text).not.toContain(secret);
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    for (const step of ['kit-stored', 'challenge', 'recovered', 'recovery-refused', 'removed']) {
      expect(messages).toContain(`device roster: ${step}`);
    }
    expect(text).toContain(alex.spaceId);
    expect((await logged.storage.listDevices(alex.spaceId as SpaceId)).length).toBe(3);
  });
});

function whoAmIList(seat: Seat): Promise<Response> {
  return fetch(`${app.url}/sync/${seat.spaceId}/devices`, { headers: bearer(seat.token) });
}
