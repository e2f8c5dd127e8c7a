import { createHash, randomBytes } from 'node:crypto';
import { ID_PATTERN } from '@mend/model';
import { CloseCode, SEALED_SUBPROTOCOL, fieldMessage, type SpaceId } from '@mend/protocol';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { b64, deviceKeys, httpTestServers, type RunningServer } from './httpApi.testkit.js';

const { start } = httpTestServers();
let app: RunningServer;

beforeAll(async () => {
  app = await start();
});

function createBody() {
  return { ...deviceKeys(), inviteCode: b64(randomBytes(16)), welcome: b64(randomBytes(120)) };
}

function post(pathname: string, body: unknown, base = app.url): Promise<Response> {
  return fetch(base + pathname, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function createSealed(body = createBody()) {
  const response = await post('/api/sealed-spaces', body);
  const json = (await response.json()) as { spaceId: string; partnerId: string; token: string };
  return { response, json, body };
}

describe('POST /api/sealed-spaces', () => {
  it('creates a sealed space without a name, keeps only hashes of the invite and token, and sets the cookie', async () => {
    const { response, json, body } = await createSealed();
    expect(response.status).toBe(201);
    expect(Object.keys(json).sort()).toEqual(['partnerId', 'spaceId', 'token']);
    expect(json.spaceId).toMatch(ID_PATTERN);
    expect(json.partnerId).toMatch(ID_PATTERN);
    expect(Buffer.from(json.token, 'base64url')).toHaveLength(32);
    expect(response.headers.get('set-cookie')).toBe(
      `mend_${json.spaceId}=${json.token}; Path=/sync/${json.spaceId}; HttpOnly; SameSite=Strict; Max-Age=34560000`,
    );
    const spaceId = json.spaceId as SpaceId;
    const space = await app.storage.getSpace(spaceId);
    expect(space).toMatchObject({ sealed: true, name: null, inviteUsedAt: null });
    expect(b64(space?.inviteHash ?? new Uint8Array())).toBe(sha256(body.inviteCode));
    expect(b64(space?.welcome ?? new Uint8Array())).toBe(body.welcome);
    const [device] = await app.storage.listDevices(spaceId);
    expect(device && [b64(device.signingKey), b64(device.agreementKey)]).toEqual([
      body.signingKey,
      body.agreementKey,
    ]);
    expect(b64(device?.tokenHash ?? new Uint8Array())).toBe(sha256(json.token));
    expect(await app.storage.listPartners(spaceId)).toEqual([]);
  });

  it('refuses missing or malformed keys, invite codes and welcome boxes with 400 and a calm sentence', async () => {
    const valid = createBody();
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, signingKey: undefined }, fieldMessage.signingKey],
      [{ ...valid, agreementKey: b64(randomBytes(31)) }, fieldMessage.agreementKey],
      [{ ...valid, inviteCode: 'short' }, fieldMessage.inviteCode],
      [{ ...valid, welcome: b64(randomBytes(1025)) }, fieldMessage.welcome],
      [{ ...valid, welcome: '' }, fieldMessage.welcome],
    ];
    for (const [body, message] of cases) {
      const response = await post('/api/sealed-spaces', body);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: message });
    }
    expect((await post('/api/sealed-spaces', 'not json')).status).toBe(400);
  });

  it('counts against the spaces an address may create per day, like a plaintext create', async () => {
    const capped = await start({ maxSpacesPerDay: 1 });
    expect((await post('/api/sealed-spaces', createBody(), capped.url)).status).toBe(201);
    const refused = await post('/api/spaces', { displayName: 'Robin' }, capped.url);
    expect(refused.status).toBe(429);
    expect((await post('/api/sealed-spaces', createBody(), capped.url)).status).toBe(429);
  });
});

describe('POST /api/sealed-spaces/:spaceId/join', () => {
  const join = (spaceId: string, body: unknown) => post(`/api/sealed-spaces/${spaceId}/join`, body);

  it('adds the second partner’s device once and hands it the welcome box and the creator’s keys', async () => {
    const { json: created, body } = await createSealed();
    const keys = deviceKeys();
    const response = await join(created.spaceId, { inviteCode: body.inviteCode, ...keys });
    expect(response.status).toBe(201);
    const joined = (await response.json()) as Record<string, unknown>;
    expect(joined).toEqual({
      spaceId: created.spaceId,
      partnerId: expect.stringMatching(ID_PATTERN) as string,
      token: expect.any(String) as string,
      welcome: body.welcome,
      creator: { signingKey: body.signingKey, agreementKey: body.agreementKey },
    });
    expect(joined.partnerId).not.toBe(created.partnerId);
    expect(response.headers.get('set-cookie')).toContain(
      `mend_${created.spaceId}=${String(joined.token)};`,
    );
    const space = await app.storage.getSpace(created.spaceId as SpaceId);
    expect(space?.welcome).toBeNull();
    expect(space?.inviteUsedAt).not.toBeNull();
    const again = await join(created.spaceId, { inviteCode: body.inviteCode, ...deviceKeys() });
    expect(again.status).toBe(409);
    expect(await app.storage.listDevices(created.spaceId as SpaceId)).toHaveLength(2);
  });

  it('checks in the order 404, 400, 403, 409', async () => {
    const { json: created, body } = await createSealed();
    const valid = { inviteCode: body.inviteCode, ...deviceKeys() };
    expect((await join('NoSuchSpace_0123456789', 'not json')).status).toBe(404);
    expect((await join(created.spaceId, 'not json')).status).toBe(400);
    expect((await join(created.spaceId, { ...valid, signingKey: 'x' })).status).toBe(400);
    const wrong = { ...valid, inviteCode: b64(randomBytes(16)) };
    expect((await join(created.spaceId, wrong)).status).toBe(403);
    const sameKey = { ...valid, signingKey: body.signingKey };
    expect((await join(created.spaceId, sameKey)).status).toBe(409);
    expect((await join(created.spaceId, valid)).status).toBe(201);
  });

  it('does not let a plaintext join into a sealed space, nor a sealed join into a plaintext one', async () => {
    const { json: sealed, body } = await createSealed();
    const asPlaintext = await post(`/api/spaces/${sealed.spaceId}/join`, {
      inviteCode: body.inviteCode,
      displayName: 'Sam',
    });
    expect(asPlaintext.status).toBe(409);
    expect(await app.storage.listPartners(sealed.spaceId as SpaceId)).toEqual([]);

    const plain = (await (await post('/api/spaces', { displayName: 'Robin' })).json()) as {
      spaceId: string;
      inviteCode: string;
    };
    const asSealed = await join(plain.spaceId, { inviteCode: plain.inviteCode, ...deviceKeys() });
    expect(asSealed.status).toBe(409);
    expect(await app.storage.listDevices(plain.spaceId as SpaceId)).toEqual([]);
  });
});

describe('POST /api/sealed-spaces/:spaceId/welcome', () => {
  const welcome = (spaceId: string, body: unknown) =>
    post(`/api/sealed-spaces/${spaceId}/welcome`, body);
  const join = (spaceId: string, body: unknown) => post(`/api/sealed-spaces/${spaceId}/join`, body);
  const code = () => b64(randomBytes(16));

  it('hands the box over for a join code that then stands for the invite, and to nobody else', async () => {
    const { json: created, body } = await createSealed();
    const joinCode = code();
    const response = await welcome(created.spaceId, { inviteCode: body.inviteCode, joinCode });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    const handed = (await response.json()) as Record<string, unknown>;
    expect(handed).toEqual({
      welcome: body.welcome,
      creator: { signingKey: body.signingKey, agreementKey: body.agreementKey },
    });
    const space = await app.storage.getSpace(created.spaceId as SpaceId);
    expect(space?.welcomeTakenAt).not.toBeNull();
    expect(space?.inviteUsedAt).toBeNull();

    // The same device asking again (its answer lost) gets the same box.
    const again = await welcome(created.spaceId, { inviteCode: body.inviteCode, joinCode });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { welcome: string }).welcome).toBe(body.welcome);

    // Anyone else holding the link: no box, and no join with the link's code.
    const second = await welcome(created.spaceId, {
      inviteCode: body.inviteCode,
      joinCode: code(),
    });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: string }).error).toMatch(/opened on another device/);
    const withLink = await join(created.spaceId, { inviteCode: body.inviteCode, ...deviceKeys() });
    expect(withLink.status).toBe(409);
    expect(await app.storage.listDevices(created.spaceId as SpaceId)).toHaveLength(1);

    const keys = deviceKeys();
    const joined = await join(created.spaceId, { inviteCode: joinCode, ...keys });
    expect(joined.status).toBe(201);
    const answer = (await joined.json()) as Record<string, unknown>;
    expect(answer).not.toHaveProperty('welcome');
    expect(answer.creator).toEqual({
      signingKey: body.signingKey,
      agreementKey: body.agreementKey,
    });
    expect(await app.storage.listDevices(created.spaceId as SpaceId)).toHaveLength(2);
    expect((await app.storage.getSpace(created.spaceId as SpaceId))?.welcome).toBeNull();
    // Used: another device with the join code gets nothing, nor does a welcome request.
    expect((await join(created.spaceId, { inviteCode: joinCode, ...deviceKeys() })).status).toBe(
      409,
    );
    expect((await welcome(created.spaceId, { inviteCode: body.inviteCode, joinCode })).status).toBe(
      409,
    );
  });

  it('lets the same device join again when its answer was lost: a new token, the old one dead', async () => {
    const { json: created, body } = await createSealed();
    const joinCode = code();
    await welcome(created.spaceId, { inviteCode: body.inviteCode, joinCode });
    const keys = deviceKeys();
    const first = (await (
      await join(created.spaceId, { inviteCode: joinCode, ...keys })
    ).json()) as {
      partnerId: string;
      token: string;
    };
    const retried = await join(created.spaceId, { inviteCode: joinCode, ...keys });
    expect(retried.status).toBe(201);
    const second = (await retried.json()) as { partnerId: string; token: string };
    expect(second.partnerId).toBe(first.partnerId);
    expect(second.token).not.toBe(first.token);
    expect(retried.headers.get('set-cookie')).toContain(`mend_${created.spaceId}=${second.token};`);
    const whoAmI = (token: string) =>
      fetch(`${app.url}/sync/${created.spaceId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await whoAmI(second.token)).status).toBe(200);
    expect((await whoAmI(first.token)).status).toBe(401);
    expect(await app.storage.listDevices(created.spaceId as SpaceId)).toHaveLength(2);
    // Someone else with the join code but other keys: no.
    expect((await join(created.spaceId, { inviteCode: joinCode, ...deviceKeys() })).status).toBe(
      409,
    );
  });

  it('checks in the order 404, 400, 403, 409', async () => {
    const { json: created, body } = await createSealed();
    const valid = { inviteCode: body.inviteCode, joinCode: code() };
    expect((await welcome('NoSuchSpace_0123456789', 'not json')).status).toBe(404);
    expect((await welcome(created.spaceId, 'not json')).status).toBe(400);
    expect((await welcome(created.spaceId, { ...valid, joinCode: 'short' })).status).toBe(400);
    expect((await welcome(created.spaceId, { ...valid, inviteCode: code() })).status).toBe(403);
    expect((await welcome(created.spaceId, valid)).status).toBe(200);
    expect((await welcome(created.spaceId, { ...valid, joinCode: code() })).status).toBe(409);

    const used = await createSealed();
    await join(used.json.spaceId, { inviteCode: used.body.inviteCode, ...deviceKeys() });
    const late = { inviteCode: used.body.inviteCode, joinCode: code() };
    expect((await welcome(used.json.spaceId, late)).status).toBe(409);
    const plain = (await (await post('/api/spaces', { displayName: 'Robin' })).json()) as {
      spaceId: string;
      inviteCode: string;
    };
    const asPlain = { inviteCode: plain.inviteCode, joinCode: code() };
    expect((await welcome(plain.spaceId, asPlain)).status).toBe(409);
  });
});

describe('the sync path of a sealed space', () => {
  it('tells a device who it is, that the space is sealed, and its signing key', async () => {
    const { json, body } = await createSealed();
    const response = await fetch(`${app.url}/sync/${json.spaceId}`, {
      headers: { Authorization: `Bearer ${json.token}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      spaceId: json.spaceId,
      partnerId: json.partnerId,
      sealed: true,
      signingKey: body.signingKey,
    });
  });

  it('serves a sealed space only with the sealed subprotocol (a plaintext socket is closed with 4410), and a plaintext space never with it (409)', async () => {
    const { json: sealed } = await createSealed();
    const plain = (await (await post('/api/spaces', { displayName: 'Robin' })).json()) as {
      spaceId: string;
      token: string;
    };
    expect(await closeCodeOf(sealed.spaceId, sealed.token)).toBe(CloseCode.sealedNow);
    expect(await upgrade(plain.spaceId, plain.token, [SEALED_SUBPROTOCOL])).toEqual({
      status: 409,
    });
    expect(await upgrade(sealed.spaceId, sealed.token, ['other', SEALED_SUBPROTOCOL])).toEqual({
      protocol: SEALED_SUBPROTOCOL,
    });
    expect(await upgrade(plain.spaceId, plain.token, [])).toEqual({ protocol: '' });
  });
});

/** Opens a plaintext socket and resolves with the code the server closes it with. */
function closeCodeOf(spaceId: string, token: string): Promise<number> {
  const ws = new WebSocket(`${app.url.replace('http', 'ws')}/sync/${spaceId}`, [], {
    headers: { Authorization: `Bearer ${token}` },
  });
  return new Promise((resolve, reject) => {
    ws.once('close', (code) => resolve(code));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
  });
}

/** Opens a socket (then closes it); what the server answered: its subprotocol, or a status. */
function upgrade(
  spaceId: string,
  token: string,
  protocols: string[],
): Promise<{ protocol: string } | { status: number }> {
  const ws = new WebSocket(`${app.url.replace('http', 'ws')}/sync/${spaceId}`, protocols, {
    headers: { Authorization: `Bearer ${token}` },
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      resolve({ protocol: ws.protocol });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}
