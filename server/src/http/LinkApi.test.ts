import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  EnvelopeKind,
  MAX_LINK_BOX_BYTES,
  SEALED_SUBPROTOCOL,
  SealedMessage,
  ZERO_HASH,
  decodeServerMessage,
  encodeDeviceMessage,
  fieldMessage,
  type ServerMessage,
  type SpaceId,
} from '@mend/protocol';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../config.js';
import { sealedEnvelope } from '../sealed/sealedHarness.testkit.js';
import { LINK_COLLECT_MS, LINK_LIFETIME_MS } from '../spaces/DeviceLinks.js';
import {
  b64,
  deviceKeys,
  httpTestServers,
  sealedPair,
  type RunningServer,
} from './httpApi.testkit.js';

const servers = httpTestServers();
/** The clock links expire by: tests move it forward, never back. */
let clock = Date.now();

function start(overrides: Partial<Config> = {}, log?: Logger): Promise<RunningServer> {
  return servers.start(overrides, { log, now: () => clock });
}

let app: RunningServer;

beforeAll(async () => {
  app = await start();
});

const code = (): string => b64(randomBytes(16));

interface Seat {
  spaceId: string;
  partnerId: string;
  token: string;
  signingKey: string;
  agreementKey: string;
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

const bearer = (seat: Pick<Seat, 'token'>): Record<string, string> => ({
  Authorization: `Bearer ${seat.token}`,
});

const linksPath = (spaceId: string) => `/api/sealed-spaces/${spaceId}/links`;

function offer(seat: Seat, linkCode = code(), headers = bearer(seat)): Promise<Response> {
  return send('POST', linksPath(seat.spaceId), { linkCode }, headers);
}

async function offered(
  seat: Seat,
  linkCode = code(),
): Promise<{ linkId: string; linkCode: string }> {
  const response = await offer(seat, linkCode);
  expect(response.status).toBe(201);
  const { linkId } = (await response.json()) as { linkId: string };
  return { linkId, linkCode };
}

interface Claim {
  linkCode: string;
  claimCode: string;
  signingKey: string;
  agreementKey: string;
}

function claimOf(linkCode: string): Claim {
  return { linkCode, claimCode: code(), ...deviceKeys() };
}

function claim(spaceId: string, body: unknown, base = app.url): Promise<Response> {
  return send('POST', `${linksPath(spaceId)}/claim`, body, {}, base);
}

function status(seat: Seat, linkId: string, headers = bearer(seat)): Promise<Response> {
  return send('GET', `${linksPath(seat.spaceId)}/${linkId}`, undefined, headers);
}

function confirm(
  seat: Seat,
  linkId: string,
  body: unknown,
  headers = bearer(seat),
): Promise<Response> {
  return send('POST', `${linksPath(seat.spaceId)}/${linkId}/confirm`, body, headers);
}

function end(seat: Seat, linkId: string, headers = bearer(seat)): Promise<Response> {
  return send('DELETE', `${linksPath(seat.spaceId)}/${linkId}`, undefined, headers);
}

function confirmation(linkSeq = 3) {
  return { box: b64(randomBytes(40 * 3 + 96)), linkSeq };
}

async function statusAndError(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as { error: string }).error];
}

/** E offers, N claims, E confirms: what N collects with its next claim. */
async function confirmedLink(alex: Seat) {
  const { linkId, linkCode } = await offered(alex);
  const n = claimOf(linkCode);
  expect((await claim(alex.spaceId, n)).status).toBe(202);
  const confirmed = confirmation();
  expect((await confirm(alex, linkId, confirmed)).status).toBe(204);
  return { linkId, n, confirmed };
}

/** A sealed socket of `seat`'s token: resolves once open, with what it receives. */
function sealedSocket(
  spaceId: string,
  headers: Record<string, string>,
): Promise<{ ws: WebSocket; next: () => Promise<ServerMessage> }> {
  const ws = new WebSocket(
    `${app.url.replace('http', 'ws')}/sync/${spaceId}`,
    [SEALED_SUBPROTOCOL],
    {
      headers,
    },
  );
  const inbox: ServerMessage[] = [];
  const waiting: ((m: ServerMessage) => void)[] = [];
  ws.on('message', (data: Buffer) => {
    const message = decodeServerMessage(new Uint8Array(data));
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  const next = () => {
    const ready = inbox.shift();
    return ready ? Promise.resolve(ready) : new Promise<ServerMessage>((r) => waiting.push(r));
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, next }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('linking a device', () => {
  it('takes a new device from offer, claim and confirmation to collection, into the seat of the device that offered', async () => {
    const { alex } = await sealedPair(app.url);
    // E writes its link statement first and confirms with the seq the server gave it.
    const e = await sealedSocket(alex.spaceId, bearer(alex));
    e.ws.send(encodeDeviceMessage({ type: SealedMessage.hello, since: 0, stream: 41 }));
    expect((await e.next()).type).toBe(SealedMessage.backlog);

    const linkCode = code();
    const offerAnswer = await offer(alex, linkCode);
    expect(offerAnswer.status).toBe(201);
    expect(offerAnswer.headers.get('cache-control')).toBe('no-store');
    const { linkId: current } = (await offerAnswer.json()) as { linkId: string };
    expect(current).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await (await status(alex, current)).json()).toEqual({ state: 'open' });

    const n = claimOf(linkCode);
    const claimed = await claim(alex.spaceId, n);
    expect(claimed.status).toBe(202);
    expect(claimed.headers.get('set-cookie')).toBeNull();
    expect(await claimed.json()).toEqual({ linkId: current, state: 'claimed' });
    expect(await (await status(alex, current)).json()).toEqual({
      state: 'claimed',
      device: { signingKey: n.signingKey, agreementKey: n.agreementKey },
    });

    const statement = sealedEnvelope({
      kind: EnvelopeKind.keys,
      spaceId: alex.spaceId as SpaceId,
      author: new Uint8Array(Buffer.from(alex.signingKey, 'base64url')),
      stream: 41,
      counter: 1,
      prev: ZERO_HASH,
    });
    e.ws.send(encodeDeviceMessage({ type: SealedMessage.submit, envelope: statement }));
    const ack = await e.next();
    if (ack.type !== SealedMessage.ack) throw new Error(`expected an ack, got ${ack.type}`);
    const box = b64(randomBytes(40 * 2 + 96));
    const confirmed = await confirm(alex, current, { box, linkSeq: ack.seq });
    expect(confirmed.status).toBe(204);
    expect(await (await status(alex, current)).json()).toEqual({
      state: 'confirmed',
      device: { signingKey: n.signingKey, agreementKey: n.agreementKey },
    });
    e.ws.close();

    const collected = await claim(alex.spaceId, n);
    expect(collected.status).toBe(201);
    const answer = (await collected.json()) as { token: string };
    expect(answer).toEqual({
      spaceId: alex.spaceId,
      partnerId: alex.partnerId,
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown,
      box,
      creator: { signingKey: alex.signingKey, agreementKey: alex.agreementKey },
      linkSeq: ack.seq,
    });
    expect(collected.headers.get('set-cookie')).toBe(
      `mend_${alex.spaceId}=${answer.token}; Path=/sync/${alex.spaceId}; HttpOnly; SameSite=Strict; Max-Age=34560000`,
    );

    // The new device is Alex's, with its own key, on the sync path and the sealed socket.
    const who = await fetch(`${app.url}/sync/${alex.spaceId}`, { headers: bearer(answer) });
    expect(await who.json()).toEqual({
      spaceId: alex.spaceId,
      partnerId: alex.partnerId,
      sealed: true,
      signingKey: n.signingKey,
    });
    const cookie = { Cookie: `mend_${alex.spaceId}=${answer.token}`, Origin: app.url };
    const socket = await sealedSocket(alex.spaceId, cookie);
    expect(socket.ws.protocol).toBe(SEALED_SUBPROTOCOL);
    socket.ws.send(encodeDeviceMessage({ type: SealedMessage.hello, since: 0, stream: 42 }));
    const backlog = await socket.next();
    expect(backlog.type === SealedMessage.backlog && backlog.entries.map((x) => x.seq)).toEqual([
      ack.seq,
    ]);
    socket.ws.close();
    expect((await app.storage.listDevices(alex.spaceId as SpaceId)).length).toBe(3);
  });

  it('takes the space’s cookie with the server’s own Origin, and refuses it without one or from another', async () => {
    const { alex } = await sealedPair(app.url);
    const cookie = `mend_${alex.spaceId}=${alex.token}`;
    expect((await offer(alex, code(), { Cookie: cookie, Origin: app.url })).status).toBe(201);
    expect((await offer(alex, code(), { Cookie: cookie })).status).toBe(403);
    expect(
      (await offer(alex, code(), { Cookie: cookie, Origin: 'https://elsewhere.example' })).status,
    ).toBe(403);
    const { linkId } = await offered(alex);
    // A GET, like GET /sync/:spaceId, takes a same-origin cookie without an Origin.
    expect((await status(alex, linkId, { Cookie: cookie })).status).toBe(200);
    expect((await end(alex, linkId, { Cookie: cookie })).status).toBe(403);
    expect((await end(alex, linkId, { Cookie: cookie, Origin: app.url })).status).toBe(204);
  });

  it('serves the seat’s routes under /sync/:spaceId/links too, where a browser sends the cookie', async () => {
    const { alex } = await sealedPair(app.url);
    const syncLinks = `/sync/${alex.spaceId}/links`;
    const cookie = { Cookie: `mend_${alex.spaceId}=${alex.token}`, Origin: app.url };
    const linkCode = code();
    const offered = await send('POST', syncLinks, { linkCode }, cookie);
    expect(offered.status).toBe(201);
    const { linkId } = (await offered.json()) as { linkId: string };
    expect((await send('GET', `${syncLinks}/${linkId}`, undefined, cookie)).status).toBe(200);
    const n = claimOf(linkCode);
    expect((await claim(alex.spaceId, n)).status).toBe(202);
    const confirmed = confirmation();
    expect((await send('POST', `${syncLinks}/${linkId}/confirm`, confirmed, cookie)).status).toBe(
      204,
    );
    expect(await (await status(alex, linkId)).json()).toMatchObject({ state: 'confirmed' });
    expect((await send('DELETE', `${syncLinks}/${linkId}`, undefined, cookie)).status).toBe(204);
    // The claim has one address: the new device has no cookie to send.
    expect((await send('POST', `${syncLinks}/claim`, n)).status).toBe(404);
    expect(
      (await send('POST', syncLinks, { linkCode: code() }, { Cookie: cookie.Cookie })).status,
    ).toBe(403);
  });

  it('answers a claim sent again the same, and a collection sent again with a new token, the old one dead', async () => {
    const { alex } = await sealedPair(app.url);
    const { linkId, linkCode } = await offered(alex);
    const n = claimOf(linkCode);
    const first = await claim(alex.spaceId, n);
    const again = await claim(alex.spaceId, n);
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(await again.json()).toEqual(await first.json());
    const confirmed = confirmation();
    expect((await confirm(alex, linkId, confirmed)).status).toBe(204);
    // The confirmation's answer lost too: the same confirmation again changes nothing.
    expect((await confirm(alex, linkId, confirmed)).status).toBe(204);

    const lost = (await (await claim(alex.spaceId, n)).json()) as { token: string; box: string };
    const retried = await claim(alex.spaceId, n);
    expect(retried.status).toBe(201);
    const answer = (await retried.json()) as { token: string; box: string };
    expect(answer.token).not.toBe(lost.token);
    expect(answer.box).toBe(confirmed.box);
    expect(retried.headers.get('set-cookie')).toContain(`mend_${alex.spaceId}=${answer.token};`);
    const who = (token: string) =>
      fetch(`${app.url}/sync/${alex.spaceId}`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await who(answer.token)).status).toBe(200);
    expect((await who(lost.token)).status).toBe(401);
    expect(await app.storage.listDevices(alex.spaceId as SpaceId)).toHaveLength(3);
  });

  it('lets the link expire after 15 minutes, and a confirmed one be collected for 10 minutes', async () => {
    const { alex } = await sealedPair(app.url);
    const lapsed = await offered(alex);
    const n = claimOf(lapsed.linkCode);
    expect((await claim(alex.spaceId, n)).status).toBe(202);
    clock += LINK_LIFETIME_MS;
    expect((await claim(alex.spaceId, n)).status).toBe(404);
    expect((await status(alex, lapsed.linkId)).status).toBe(404);
    expect((await confirm(alex, lapsed.linkId, confirmation())).status).toBe(404);
    expect((await end(alex, lapsed.linkId)).status).toBe(404);

    const { n: m } = await confirmedLink(alex);
    clock += LINK_COLLECT_MS - 1;
    expect((await claim(alex.spaceId, m)).status).toBe(201);
    clock += 1;
    const [code404, error] = await statusAndError(await claim(alex.spaceId, m));
    expect(code404).toBe(404);
    expect(error).toBe('This link no longer works. Please make a new one on your other device.');
  });

  it('ends the seat’s earlier link at a new offer', async () => {
    const { alex } = await sealedPair(app.url);
    const first = await offered(alex);
    const second = await offered(alex);
    expect(await (await status(alex, first.linkId)).json()).toEqual({ state: 'ended' });
    expect((await claim(alex.spaceId, claimOf(first.linkCode))).status).toBe(404);
    expect((await claim(alex.spaceId, claimOf(second.linkCode))).status).toBe(202);
  });

  it('lets a seat end its link, and nobody claim or collect it after', async () => {
    const { alex } = await sealedPair(app.url);
    const open = await offered(alex);
    const ended = await end(alex, open.linkId);
    expect(ended.status).toBe(204);
    expect(await ended.text()).toBe('');
    expect(await (await status(alex, open.linkId)).json()).toEqual({ state: 'ended' });
    expect((await claim(alex.spaceId, claimOf(open.linkCode))).status).toBe(404);

    const { linkId, n } = await confirmedLink(alex);
    expect((await end(alex, linkId)).status).toBe(204);
    expect((await claim(alex.spaceId, n)).status).toBe(404);
  });

  it('logs each step and refusal with the space and link, never a code, key, box or token', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logged = await start({}, pino({ level: 'debug' }, sink));
    const at = (method: string, pathname: string, body?: unknown, headers = {}) =>
      send(method, pathname, body, headers, logged.url);
    const { alex } = await sealedPair(logged.url);
    const path = linksPath(alex.spaceId);
    const linkCode = code();
    const offerAnswer = await at('POST', path, { linkCode }, bearer(alex));
    const { linkId } = (await offerAnswer.json()) as { linkId: string };
    const n = claimOf(linkCode);
    expect((await at('POST', `${path}/claim`, n)).status).toBe(202);
    expect((await at('POST', `${path}/claim`, claimOf(linkCode))).status).toBe(409);
    const box = b64(randomBytes(200));
    const confirmed = await at(
      'POST',
      `${path}/${linkId}/confirm`,
      { box, linkSeq: 1 },
      bearer(alex),
    );
    expect(confirmed.status).toBe(204);
    const collected = (await (await at('POST', `${path}/claim`, n)).json()) as { token: string };
    expect((await at('DELETE', `${path}/${linkId}`, undefined, bearer(alex))).status).toBe(204);

    const text = lines.join('');
    const secrets = [linkCode, n.claimCode, n.signingKey, n.agreementKey, box, collected.token];
    for (const secret of [...secrets, alex.token, alex.signingKey])
      expect(text).not.toContain(secret);
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    for (const step of ['offered', 'claimed', 'confirmed', 'collected', 'ended']) {
      expect(messages).toContain(`device link ${step}`);
    }
    expect(messages).toContain('device link step refused');
    expect(text).toContain(linkId);
  });

  describe('refuses', () => {
    it('a claim of an unknown link or space 404, a second device’s claim 409, a device of the space 409, a bad body 400', async () => {
      const { alex, sam } = await sealedPair(app.url);
      const { linkCode } = await offered(alex);
      expect(await statusAndError(await claim(alex.spaceId, claimOf(code())))).toEqual([
        404,
        'This link no longer works. Please make a new one on your other device.',
      ]);
      expect((await claim('NoSuchSpace_0123456789', claimOf(linkCode))).status).toBe(404);
      // The space is looked up before the body is read.
      expect((await claim('NoSuchSpace_0123456789', 'not json')).status).toBe(404);
      expect((await claim(alex.spaceId, 'not json')).status).toBe(400);
      expect(
        await statusAndError(await claim(alex.spaceId, { ...claimOf(linkCode), linkCode: 'x' })),
      ).toEqual([400, fieldMessage.linkCode]);
      const { claimCode: _, ...noClaimCode } = claimOf(linkCode);
      expect(await statusAndError(await claim(alex.spaceId, noClaimCode))).toEqual([
        400,
        fieldMessage.claimCode,
      ]);
      const samsKeys = { signingKey: sam.signingKey, agreementKey: b64(randomBytes(32)) };
      expect((await claim(alex.spaceId, { ...claimOf(linkCode), ...samsKeys })).status).toBe(409);

      expect((await claim(alex.spaceId, claimOf(linkCode))).status).toBe(202);
      const [status409, error] = await statusAndError(await claim(alex.spaceId, claimOf(linkCode)));
      expect(status409).toBe(409);
      expect(error).toMatch(/already been opened on another device/);
    });

    it('the seat’s routes without a credential 401, with another space’s 403, for a plaintext space 409, and another seat’s link 404', async () => {
      const { alex, sam } = await sealedPair(app.url);
      const other = await sealedPair(app.url);
      const { linkId, linkCode } = await offered(alex);
      const unknownToken = { Authorization: `Bearer ${b64(randomBytes(32))}` };
      for (const headers of [{}, unknownToken]) {
        expect((await offer(alex, code(), headers)).status).toBe(401);
        expect((await status(alex, linkId, headers)).status).toBe(401);
        expect((await confirm(alex, linkId, confirmation(), headers)).status).toBe(401);
        expect((await end(alex, linkId, headers)).status).toBe(401);
      }
      expect((await offer(alex, code(), bearer(other.alex))).status).toBe(403);
      expect((await status(alex, linkId, bearer(other.alex))).status).toBe(403);
      expect((await offer({ ...alex, spaceId: 'NoSuchSpace_0123456789' })).status).toBe(404);

      const plain = (await (
        await send('POST', '/api/spaces', { displayName: 'Robin' })
      ).json()) as Seat;
      const [plain409, plainError] = await statusAndError(await offer(plain));
      expect(plain409).toBe(409);
      expect(plainError).toMatch(/not end-to-end encrypted/);

      expect((await claim(alex.spaceId, claimOf(linkCode))).status).toBe(202);
      const samAtAlexsLink = (response: Response) => response.status;
      expect(samAtAlexsLink(await status(sam, linkId))).toBe(404);
      expect(samAtAlexsLink(await confirm(sam, linkId, confirmation()))).toBe(404);
      expect(samAtAlexsLink(await end(sam, linkId))).toBe(404);
      expect((await status(alex, 'not-a-link-id')).status).toBe(404);
      expect((await status(alex, code())).status).toBe(404);
      expect(await (await status(alex, linkId)).json()).toMatchObject({ state: 'claimed' });
    });

    it('an offer or a confirmation with a bad body 400, a confirmation before any claim 409, another confirmation 409', async () => {
      const { alex } = await sealedPair(app.url);
      expect(await statusAndError(await offer(alex, 'short'))).toEqual([
        400,
        fieldMessage.linkCode,
      ]);
      expect((await send('POST', linksPath(alex.spaceId), 'not json', bearer(alex))).status).toBe(
        400,
      );
      const { linkId, linkCode } = await offered(alex);
      expect(await statusAndError(await confirm(alex, linkId, confirmation()))).toEqual([
        409,
        'No device has opened this link yet. Please wait until the new device shows a number.',
      ]);
      expect((await claim(alex.spaceId, claimOf(linkCode))).status).toBe(202);
      const tooLarge = { box: b64(randomBytes(MAX_LINK_BOX_BYTES + 1)), linkSeq: 3 };
      expect(await statusAndError(await confirm(alex, linkId, tooLarge))).toEqual([
        400,
        fieldMessage.box,
      ]);
      expect(
        await statusAndError(await confirm(alex, linkId, { box: b64(randomBytes(9)), linkSeq: 0 })),
      ).toEqual([400, fieldMessage.linkSeq]);
      expect((await confirm(alex, linkId, confirmation(3))).status).toBe(204);
      expect((await confirm(alex, linkId, confirmation(3))).status).toBe(409);
      expect(await app.storage.listDevices(alex.spaceId as SpaceId)).toHaveLength(3);
    });

    it('a device that left the space: no offer, no confirmation', async () => {
      const { alex } = await sealedPair(app.url);
      const { linkId, linkCode } = await offered(alex);
      expect((await claim(alex.spaceId, claimOf(linkCode))).status).toBe(202);
      const left = await fetch(`${app.url}/sync/${alex.spaceId}`, {
        method: 'DELETE',
        headers: bearer(alex),
      });
      expect(left.status).toBe(204);
      expect((await offer(alex)).status).toBe(401);
      expect((await confirm(alex, linkId, confirmation())).status).toBe(401);
      expect(await app.storage.listDevices(alex.spaceId as SpaceId)).toHaveLength(2);
    });

    it('the methods a path does not take 405, and paths below links it does not know 404', async () => {
      const { alex } = await sealedPair(app.url);
      const { linkId } = await offered(alex);
      const path = linksPath(alex.spaceId);
      const cases: [string, string, string][] = [
        ['GET', path, 'POST'],
        ['GET', `${path}/claim`, 'POST'],
        ['PUT', `${path}/${linkId}`, 'GET, DELETE'],
        ['GET', `${path}/${linkId}/confirm`, 'POST'],
      ];
      for (const [method, pathname, allowed] of cases) {
        const response = await send(method, pathname, undefined, bearer(alex));
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe(allowed);
      }
      expect((await send('POST', `${path}/${linkId}/other`, {}, bearer(alex))).status).toBe(404);
    });

    it('claims past the address’s allowance 429', async () => {
      const limited = await start({ rateLimitPerMinute: 3 });
      const { alex } = await sealedPair(limited.url);
      const body = claimOf(code());
      const statuses = [];
      // The create and the join of sealedPair spent two of the three.
      for (let i = 0; i < 2; i++)
        statuses.push((await claim(alex.spaceId, body, limited.url)).status);
      expect(statuses).toEqual([404, 429]);
    });
  });
});
