import { randomBytes } from 'node:crypto';
import {
  CloseCode,
  ENVELOPE_VERSION,
  EnvelopeKind,
  SEALED_SUBPROTOCOL,
  SealedMessage,
  ZERO_HASH,
  decodeServerMessage,
  encodeDeviceMessage,
  encodeEnvelope,
  encodeEnvelopeHeader,
  encodeSignedPart,
  fieldMessage,
  type EnvelopeHeader,
  type SpaceId,
} from '@mend/protocol';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { sealedEnvelope } from '../sealed/sealedHarness.testkit.js';
import { envelopeHash } from '../sealed/sealedInput.js';
import {
  b64,
  bearer,
  httpTestServers,
  postJson,
  type RunningServer,
  type Seat,
} from './httpApi.testkit.js';

const { start } = httpTestServers();
let app: RunningServer;

beforeAll(async () => {
  app = await start();
});

/** A plaintext space with only its first partner, its invite still unused. */
async function plaintextSolo(base = app.url) {
  const alex = await postJson<Seat & { inviteCode: string }>(
    '/api/spaces',
    { displayName: 'Alex', name: 'Our space' },
    base,
  );
  return { alex, seats: [alex] };
}

/** A plaintext space with both partners. */
async function plaintextSpace(base = app.url) {
  const { alex } = await plaintextSolo(base);
  const sam = await postJson<Seat>(
    `/api/spaces/${alex.spaceId}/join`,
    { inviteCode: alex.inviteCode, displayName: 'Sam' },
    base,
  );
  return { alex, sam, seats: [alex, sam] };
}

/** What the converting device (the first seat) sends for `seats`, and its key pairs. */
function sealOf(spaceId: string, seats: readonly Seat[], genesisBytes = 300) {
  const keys = seats.map(() => ({ signing: randomBytes(32), agreement: randomBytes(32) }));
  const author = new Uint8Array(keys[0]?.signing ?? randomBytes(32));
  const stream = randomBytes(4).readUInt32LE(0);
  const header = { spaceId: spaceId as SpaceId, author, stream };
  const member = sealedEnvelope({
    ...header,
    kind: EnvelopeKind.member,
    counter: 1,
    prev: ZERO_HASH,
  });
  const genesis = sealedEnvelope(
    { ...header, kind: EnvelopeKind.carried, counter: 2, prev: envelopeHash(member) },
    genesisBytes,
  );
  const boxes = seats.map((_, i) => (i === 0 ? null : randomBytes(170)));
  const body = {
    devices: seats.map((seat, i) => ({
      partnerId: seat.partnerId,
      signingKey: b64(keys[i]?.signing ?? new Uint8Array()),
      agreementKey: b64(keys[i]?.agreement ?? new Uint8Array()),
      ...(boxes[i] ? { box: b64(boxes[i]) } : {}),
    })),
    envelopes: [b64(member), b64(genesis)],
  };
  return { body, keys, boxes, member, genesis, stream, author };
}

/** An envelope of `epoch` (sealedEnvelope makes epoch 1), with filler crypto fields. */
function envelopeAt(epoch: number, header: Omit<EnvelopeHeader, 'version' | 'epoch' | 'covers'>) {
  const headerBytes = encodeEnvelopeHeader({
    ...header,
    version: ENVELOPE_VERSION,
    epoch,
    covers: null,
  });
  const signed = encodeSignedPart(headerBytes, new Uint8Array(24), new Uint8Array(48));
  return encodeEnvelope(signed, new Uint8Array(64));
}

function seal(
  spaceId: string,
  body: unknown,
  headers: Record<string, string>,
  base = app.url,
): Promise<Response> {
  return fetch(`${base}/sync/${spaceId}/seal`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function statusAndError(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as { error: string }).error];
}

function keyOf(seat: Seat, headers = bearer(seat.token)): Promise<Response> {
  return fetch(`${app.url}/sync/${seat.spaceId}/key`, { headers });
}

/** Opens a sync socket; resolves once open, with a promise of its close code. */
function openSocket(
  seat: Seat,
  protocols: string[],
  headers = bearer(seat.token),
): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`${app.url.replace('http', 'ws')}/sync/${seat.spaceId}`, protocols, {
    headers,
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('POST /sync/:spaceId/seal (converting a plaintext space)', () => {
  it('seals the space: its partners’ tokens now name their devices, the log holds seq 1 and 2, and the plaintext is gone', async () => {
    const { alex, sam, seats } = await plaintextSpace();
    const spaceId = alex.spaceId as SpaceId;
    const { body, keys, boxes, member, genesis } = sealOf(spaceId, seats, 2048);

    const response = await seal(spaceId, body, bearer(alex.token));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ seq: 2 });
    expect(response.headers.get('cache-control')).toBe('no-store');

    expect(await app.storage.getSpace(spaceId)).toMatchObject({ sealed: true, name: null });
    expect(await app.storage.listPartners(spaceId)).toEqual([]);
    expect(await app.storage.loadDoc(spaceId)).toEqual({ snapshot: null, updates: [] });
    const log = await app.storage.loadEnvelopes(spaceId, 0);
    expect(log.envelopes).toEqual([
      { seq: 1, envelope: member },
      { seq: 2, envelope: genesis },
    ]);
    // Each partner's old token now names their device, with the keys the request listed.
    for (const [i, seat] of [alex, sam].entries()) {
      const who = await fetch(`${app.url}/sync/${spaceId}`, { headers: bearer(seat.token) });
      expect(await who.json()).toEqual({
        spaceId,
        partnerId: seat.partnerId,
        sealed: true,
        signingKey: b64(keys[i]?.signing ?? new Uint8Array()),
      });
    }
    // The other device's box, and none for the converting one; both learn who converted.
    const creator = {
      signingKey: b64(keys[0]?.signing ?? new Uint8Array()),
      agreementKey: b64(keys[0]?.agreement ?? new Uint8Array()),
    };
    const samKey = await keyOf(sam);
    expect(samKey.status).toBe(200);
    expect(await samKey.json()).toEqual({ box: b64(boxes[1] ?? new Uint8Array()), creator });
    expect(await (await keyOf(alex)).json()).toEqual({ box: null, creator });
  });

  it('lets the other partner’s old cookie open the sealed socket and its backlog, and fetch its box', async () => {
    const { alex, sam, seats } = await plaintextSpace();
    const { body, boxes } = sealOf(alex.spaceId, seats);
    expect((await seal(alex.spaceId, body, bearer(alex.token))).status).toBe(200);

    const cookie = { Cookie: `mend_${sam.spaceId}=${sam.token}` };
    // A same-origin fetch sends no Origin, as for GET /sync/:spaceId.
    const key = await keyOf(sam, cookie);
    expect(key.status).toBe(200);
    expect(((await key.json()) as { box: string }).box).toBe(b64(boxes[1] ?? new Uint8Array()));

    const socket = await openSocket(sam, [SEALED_SUBPROTOCOL], { ...cookie, Origin: app.url });
    expect(socket.ws.protocol).toBe(SEALED_SUBPROTOCOL);
    const backlog = new Promise<number[]>((resolve) =>
      socket.ws.once('message', (data: Buffer) => {
        const message = decodeServerMessage(new Uint8Array(data));
        resolve(message.type === SealedMessage.backlog ? message.entries.map((e) => e.seq) : []);
      }),
    );
    socket.ws.send(encodeDeviceMessage({ type: SealedMessage.hello, since: 0, stream: 7 }));
    expect(await backlog).toEqual([1, 2]);
    socket.ws.close();
  });

  it('closes the space’s open plaintext sockets with 4410, and so every plaintext socket after', async () => {
    const { alex, sam, seats } = await plaintextSpace();
    const samSocket = await openSocket(sam, []);
    const alexSocket = await openSocket(alex, []);
    expect(
      (await seal(alex.spaceId, sealOf(alex.spaceId, seats).body, bearer(alex.token))).status,
    ).toBe(200);
    expect(await samSocket.closed).toBe(CloseCode.sealedNow);
    expect(await alexSocket.closed).toBe(CloseCode.sealedNow);

    const later = await openSocket(sam, []);
    expect(await later.closed).toBe(CloseCode.sealedNow);
  });

  it('answers a retried seal 409, changing nothing, and a sealed device’s token 409 too', async () => {
    const { alex, seats } = await plaintextSpace();
    const { body, member, genesis } = sealOf(alex.spaceId, seats);
    expect((await seal(alex.spaceId, body, bearer(alex.token))).status).toBe(200);
    const again = await seal(alex.spaceId, body, bearer(alex.token));
    expect(await statusAndError(again)).toEqual([
      409,
      'This space is end-to-end encrypted already.',
    ]);
    const other = sealOf(alex.spaceId, seats);
    expect((await seal(alex.spaceId, other.body, bearer(alex.token))).status).toBe(409);
    const log = await app.storage.loadEnvelopes(alex.spaceId as SpaceId, 0);
    expect(log.envelopes.map((e) => e.envelope)).toEqual([member, genesis]);
  });

  it('takes a new sealed invite for a space still waiting for its partner, and the old link stops working', async () => {
    const { alex, seats } = await plaintextSolo();
    const { body } = sealOf(alex.spaceId, seats);
    const withoutInvite = await seal(alex.spaceId, body, bearer(alex.token));
    expect(withoutInvite.status).toBe(409);
    const inviteCode = b64(randomBytes(16));
    const welcome = b64(randomBytes(120));
    const response = await seal(
      alex.spaceId,
      { ...body, invite: { inviteCode, welcome } },
      bearer(alex.token),
    );
    expect(response.status).toBe(200);

    const oldLink = await fetch(`${app.url}/api/spaces/${alex.spaceId}/join`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ inviteCode: alex.inviteCode, displayName: 'Sam' }),
    });
    expect(oldLink.status).toBe(403);
    const joined = await postJson<Seat & { welcome: string }>(
      `/api/sealed-spaces/${alex.spaceId}/join`,
      { inviteCode, signingKey: b64(randomBytes(32)), agreementKey: b64(randomBytes(32)) },
      app.url,
    );
    expect(joined.welcome).toBe(welcome);
    expect(await (await keyOf(joined)).json()).toMatchObject({ box: null });
  });

  it('refuses a new invite for a space whose partner joined', async () => {
    const { alex, seats } = await plaintextSpace();
    const { body } = sealOf(alex.spaceId, seats);
    const invite = { inviteCode: b64(randomBytes(16)), welcome: b64(randomBytes(120)) };
    const response = await seal(alex.spaceId, { ...body, invite }, bearer(alex.token));
    expect(response.status).toBe(409);
    expect((await app.storage.getSpace(alex.spaceId as SpaceId))?.sealed).toBe(false);
  });

  it('answers 409 when the devices listed are not exactly the space’s partners', async () => {
    const { alex, sam, seats } = await plaintextSpace();
    const stranger = { ...sam, partnerId: b64(randomBytes(16)) };
    for (const listed of [[alex], [alex, stranger], [alex, sam, stranger]]) {
      const response = await seal(
        alex.spaceId,
        sealOf(alex.spaceId, listed).body,
        bearer(alex.token),
      );
      expect(response.status).toBe(listed.length === 3 ? 400 : 409);
    }
    expect((await app.storage.getSpace(alex.spaceId as SpaceId))?.sealed).toBe(false);
    expect(await app.storage.listPartners(alex.spaceId as SpaceId)).toHaveLength(seats.length);
  });

  it('refuses with 400 a body that is not a seal, and envelopes that are not this device’s member statement and genesis', async () => {
    const { alex, sam, seats } = await plaintextSpace();
    const spaceId = alex.spaceId as SpaceId;
    const valid = sealOf(spaceId, seats);
    const author = valid.author;
    const envelope = (overrides: Partial<Parameters<typeof sealedEnvelope>[0]>) =>
      b64(
        sealedEnvelope({
          kind: EnvelopeKind.carried,
          spaceId,
          author,
          stream: valid.stream,
          counter: 2,
          prev: envelopeHash(valid.member),
          ...overrides,
        }),
      );
    const memberOf = (overrides: Partial<Parameters<typeof sealedEnvelope>[0]>) =>
      envelope({ kind: EnvelopeKind.member, counter: 1, prev: ZERO_HASH, ...overrides });
    const [own, other] = valid.body.devices as [
      (typeof valid.body.devices)[number],
      (typeof valid.body.devices)[number],
    ];
    const genesisOk = valid.body.envelopes[1] ?? '';
    const memberOk = valid.body.envelopes[0] ?? '';
    const cases: [unknown, string][] = [
      ['not json', 'Something went wrong sending this. Please try again; nothing was lost.'],
      [{ ...valid.body, devices: undefined }, fieldMessage.devices],
      [{ ...valid.body, envelopes: [memberOk] }, fieldMessage.envelopes],
      [{ ...valid.body, devices: [{ ...own, signingKey: 'short' }, other] }, fieldMessage.devices],
      [
        { ...valid.body, devices: [other] },
        'This device is not among the devices the request lists.',
      ],
      [{ ...valid.body, devices: [own, { ...other, box: undefined }] }, fieldMessage.devices],
      [
        { ...valid.body, devices: [own, { ...other, signingKey: own.signingKey }] },
        fieldMessage.devices,
      ],
      [{ ...valid.body, envelopes: [b64(randomBytes(90)), genesisOk] }, fieldMessage.envelopes],
      [{ ...valid.body, envelopes: [memberOk, memberOk] }, fieldMessage.envelopes],
      [{ ...valid.body, envelopes: [genesisOk, memberOk] }, fieldMessage.envelopes],
      [
        { ...valid.body, envelopes: [memberOf({ kind: EnvelopeKind.update }), genesisOk] },
        fieldMessage.envelopes,
      ],
      [
        { ...valid.body, envelopes: [memberOk, envelope({ kind: EnvelopeKind.update })] },
        fieldMessage.envelopes,
      ],
      [
        { ...valid.body, envelopes: [memberOk, envelope({ prev: envelopeHash(randomBytes(8)) })] },
        fieldMessage.envelopes,
      ],
      [
        { ...valid.body, envelopes: [memberOk, envelope({ stream: valid.stream + 1 })] },
        fieldMessage.envelopes,
      ],
      [{ ...valid.body, envelopes: [memberOk, envelope({ counter: 3 })] }, fieldMessage.envelopes],
      [
        {
          ...valid.body,
          envelopes: [memberOf({ spaceId: sam.partnerId as SpaceId }), genesisOk],
        },
        fieldMessage.envelopes,
      ],
      [
        {
          ...valid.body,
          envelopes: [memberOf({ author: new Uint8Array(randomBytes(32)) }), genesisOk],
        },
        fieldMessage.envelopes,
      ],
    ];
    for (const [body, message] of cases) {
      const response = await seal(spaceId, body, bearer(alex.token));
      expect(await statusAndError(response)).toEqual([400, message]);
    }
    // A chain of another epoch (a conversion's space key is epoch 1).
    const epochTwo = envelopeAt(2, {
      kind: EnvelopeKind.member,
      spaceId,
      author,
      stream: valid.stream,
      counter: 1,
      prev: ZERO_HASH,
    });
    const afterIt = envelope({ prev: envelopeHash(epochTwo) });
    const wrongEpoch = { ...valid.body, envelopes: [b64(epochTwo), afterIt] };
    expect(await statusAndError(await seal(spaceId, wrongEpoch, bearer(alex.token)))).toEqual([
      400,
      fieldMessage.envelopes,
    ]);
    expect((await app.storage.getSpace(spaceId))?.sealed).toBe(false);
    expect((await seal(spaceId, valid.body, bearer(alex.token))).status).toBe(200);
  });

  it('checks credentials as DELETE does: 404, 401, a cookie only with the own Origin, 403 for another space', async () => {
    const { alex, seats } = await plaintextSpace();
    const other = await plaintextSpace();
    const { body } = sealOf(alex.spaceId, seats);
    const cookie = { Cookie: `mend_${alex.spaceId}=${alex.token}` };
    expect((await seal('NoSuchSpace_0123456789', body, bearer(alex.token))).status).toBe(404);
    expect((await seal(alex.spaceId, body, {})).status).toBe(401);
    expect((await seal(alex.spaceId, body, bearer(b64(randomBytes(32))))).status).toBe(401);
    expect((await seal(alex.spaceId, body, bearer(other.alex.token))).status).toBe(403);
    expect((await seal(alex.spaceId, body, cookie)).status).toBe(403);
    expect(
      (await seal(alex.spaceId, body, { ...cookie, Origin: 'http://evil.example' })).status,
    ).toBe(403);
    expect((await app.storage.getSpace(alex.spaceId as SpaceId))?.sealed).toBe(false);
    expect((await seal(alex.spaceId, body, { ...cookie, Origin: app.url })).status).toBe(200);
    const get = await fetch(`${app.url}/sync/${alex.spaceId}/seal`, {
      headers: bearer(alex.token),
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('takes a five-year space’s genesis, and refuses an envelope larger than the sealed socket takes', async () => {
    const big = await start({ maxMessageBytes: 16 * 1024 * 1024 });
    const { alex, seats } = await plaintextSpace(big.url);
    const { body } = sealOf(alex.spaceId, seats, 2_500_000);
    expect((await seal(alex.spaceId, body, bearer(alex.token), big.url)).status).toBe(200);

    const small = await start({ maxMessageBytes: 4096 });
    const tight = await plaintextSpace(small.url);
    const over = sealOf(tight.alex.spaceId, tight.seats, 4096);
    const refused = await seal(tight.alex.spaceId, over.body, bearer(tight.alex.token), small.url);
    expect(await statusAndError(refused)).toEqual([400, fieldMessage.envelopes]);
    const huge = { ...over.body, padding: 'x'.repeat(64 * 1024) };
    const tooLarge = await seal(tight.alex.spaceId, huge, bearer(tight.alex.token), small.url);
    expect(tooLarge.status).toBe(413);
    const fits = sealOf(tight.alex.spaceId, tight.seats, 3000);
    expect(
      (await seal(tight.alex.spaceId, fits.body, bearer(tight.alex.token), small.url)).status,
    ).toBe(200);
  });

  it('is rate limited like the other requests about a space', async () => {
    // The create and the join spend the two requests of the minute.
    const limited = await start({ rateLimitPerMinute: 2 });
    const { alex, seats } = await plaintextSpace(limited.url);
    const { body } = sealOf(alex.spaceId, seats);
    const response = await seal(alex.spaceId, body, bearer(alex.token), limited.url);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).not.toBeNull();
  });
});

describe('GET /sync/:spaceId/key', () => {
  it('answers 409 for a plaintext space, and 404 or 401 like GET /sync/:spaceId', async () => {
    const { alex } = await plaintextSpace();
    const response = await keyOf(alex);
    expect(await statusAndError(response)).toEqual([
      409,
      'This space is not end-to-end encrypted yet, so it has no key to fetch.',
    ]);
    expect((await keyOf({ ...alex, spaceId: 'NoSuchSpace_0123456789' })).status).toBe(404);
    expect((await keyOf(alex, {})).status).toBe(401);
    const post = await fetch(`${app.url}/sync/${alex.spaceId}/key`, {
      method: 'POST',
      headers: bearer(alex.token),
    });
    expect(post.status).toBe(405);
  });

  it('gives a device of a space created sealed no box, and its creator', async () => {
    const signingKey = b64(randomBytes(32));
    const agreementKey = b64(randomBytes(32));
    const created = await postJson<Seat>(
      '/api/sealed-spaces',
      {
        signingKey,
        agreementKey,
        inviteCode: b64(randomBytes(16)),
        welcome: b64(randomBytes(100)),
      },
      app.url,
    );
    expect(await (await keyOf(created)).json()).toEqual({
      box: null,
      creator: { signingKey, agreementKey },
    });
  });
});
