import { randomBytes } from 'node:crypto';
import type { SpaceId } from '@mend/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  b64,
  bearer,
  deviceKeys,
  httpTestServers,
  post,
  sealedPair,
  statusAndError,
  type Device,
  type RunningServer,
} from './httpApi.testkit.js';

/*
 * Returning to a seat (docs/api.md "Linking a device", docs/protocol.md "Returning to a seat"):
 * a device offers a link for the other partner's seat once that seat has no current device.
 */

const servers = httpTestServers();
let app: RunningServer;

beforeAll(async () => {
  app = await servers.start();
});

const code = (): string => b64(randomBytes(16));
const linksPath = (spaceId: string) => `/api/sealed-spaces/${spaceId}/links`;
const STILL_THERE =
  'Your partner still has a device in this space. Remove it first, from Settings → Devices.';

function offer(by: Device, body: Record<string, unknown>): Promise<Response> {
  return post(app.url, linksPath(by.spaceId), body, by);
}

/** `by`'s link for the other partner's seat, answered 201. */
async function returnLink(by: Device): Promise<{ linkId: string; linkCode: string }> {
  const linkCode = code();
  const response = await offer(by, { linkCode, seat: 'partner' });
  expect(response.status).toBe(201);
  const { linkId } = (await response.json()) as { linkId: string };
  return { linkId, linkCode };
}

function claimOf(linkCode: string) {
  return { linkCode, claimCode: code(), ...deviceKeys() };
}

function claim(spaceId: string, body: unknown): Promise<Response> {
  return post(app.url, `${linksPath(spaceId)}/claim`, body);
}

function status(by: Device, linkId: string): Promise<Response> {
  return fetch(`${app.url}${linksPath(by.spaceId)}/${linkId}`, { headers: bearer(by.token) });
}

function confirm(by: Device, linkId: string, body = confirmation()): Promise<Response> {
  return post(app.url, `${linksPath(by.spaceId)}/${linkId}/confirm`, body, by);
}

function confirmation() {
  return { box: b64(randomBytes(40 + 96)), linkSeq: 5 };
}

/** `by` removes the device with `signingKey` (an emergency removal for the other seat's). */
async function remove(by: Device, signingKey: string): Promise<void> {
  const response = await fetch(`${app.url}/sync/${by.spaceId}/devices/${signingKey}`, {
    method: 'DELETE',
    headers: bearer(by.token),
  });
  expect(response.status).toBe(204);
}

/** Sam lost every device: Alex removed Sam's only one. */
async function samLost() {
  const pair = await sealedPair(app.url);
  await remove(pair.alex, pair.sam.signingKey);
  return pair;
}

describe('returning to a seat', () => {
  it('brings a new device into the other partner’s seat through a link of the offering seat', async () => {
    const { alex, sam } = await samLost();
    const { linkId, linkCode } = await returnLink(alex);
    expect(await (await status(alex, linkId)).json()).toEqual({ state: 'open' });

    const n = claimOf(linkCode);
    const claimed = await claim(alex.spaceId, n);
    expect(claimed.status).toBe(202);
    expect(await claimed.json()).toEqual({ linkId, state: 'claimed' });
    const confirmed = confirmation();
    expect((await confirm(alex, linkId, confirmed)).status).toBe(204);
    expect(await (await status(alex, linkId)).json()).toEqual({
      state: 'confirmed',
      device: { signingKey: n.signingKey, agreementKey: n.agreementKey },
    });

    const collected = await claim(alex.spaceId, n);
    expect(collected.status).toBe(201);
    const answer = (await collected.json()) as { token: string; partnerId: string; box: string };
    expect(answer).toMatchObject({ partnerId: sam.partnerId, box: confirmed.box });
    const who = await fetch(`${app.url}/sync/${alex.spaceId}`, { headers: bearer(answer.token) });
    expect(await who.json()).toEqual({
      spaceId: alex.spaceId,
      partnerId: sam.partnerId,
      sealed: true,
      signingKey: n.signingKey,
    });
    const devices = await app.storage.listDevices(alex.spaceId as SpaceId);
    expect(devices.map((d) => d.partnerId)).toEqual([alex.partnerId, sam.partnerId, sam.partnerId]);

    // Sam's seat has a current device again: another return link is refused.
    expect(await statusAndError(await offer(alex, { linkCode: code(), seat: 'partner' }))).toEqual([
      409,
      STILL_THERE,
    ]);
  });

  it('refuses a return link 409 while the other seat has a device, a recovery device aside', async () => {
    const { alex, sam } = await sealedPair(app.url);
    expect(await statusAndError(await offer(alex, { linkCode: code(), seat: 'partner' }))).toEqual([
      409,
      STILL_THERE,
    ]);
    const kit = { ...deviceKeys(), box: b64(randomBytes(136)), linkSeq: 4 };
    const kitPut = await fetch(`${app.url}/sync/${sam.spaceId}/recovery`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', ...bearer(sam.token) },
      body: JSON.stringify(kit),
    });
    expect(kitPut.status).toBe(204);
    await remove(alex, sam.signingKey);
    const { linkId, linkCode } = await returnLink(alex);
    expect((await claim(alex.spaceId, claimOf(linkCode))).status).toBe(202);
    expect((await confirm(alex, linkId)).status).toBe(204);
  });

  it('refuses a return link 409 in a space the other partner never joined', async () => {
    const keys = deviceKeys();
    const created = await post(app.url, '/api/sealed-spaces', {
      ...keys,
      inviteCode: code(),
      welcome: b64(randomBytes(120)),
    });
    const alone = { ...((await created.json()) as Device), ...keys };
    const [status409, error] = await statusAndError(
      await offer(alone, { linkCode: code(), seat: 'partner' }),
    );
    expect(status409).toBe(409);
    expect(error).toMatch(/not joined this space yet/);
  });

  it('takes "own" or no seat as a link for the offering seat, and refuses any other seat 400', async () => {
    const { alex } = await sealedPair(app.url);
    for (const body of [{ linkCode: code() }, { linkCode: code(), seat: 'own' }]) {
      expect((await offer(alex, body)).status).toBe(201);
    }
    for (const seat of ['other', 'Partner', '', null, 1, true]) {
      expect(await statusAndError(await offer(alex, { linkCode: code(), seat }))).toEqual([
        400,
        'The link could not be made: "seat" must be "own" or "partner".',
      ]);
    }
  });

  it('keeps one open link of each kind per seat: a new offer ends the earlier one of its kind', async () => {
    const { alex } = await samLost();
    const { linkId } = await returnLink(alex);
    const alexsOwn = await offer(alex, { linkCode: code() });
    expect(alexsOwn.status).toBe(201);
    const { linkId: ownId } = (await alexsOwn.json()) as { linkId: string };
    // One open link of each kind: the own link did not end the return link.
    expect(await (await status(alex, linkId)).json()).toEqual({ state: 'open' });
    expect(await (await status(alex, ownId)).json()).toEqual({ state: 'open' });
    const again = await returnLink(alex);
    expect(await (await status(alex, linkId)).json()).toEqual({ state: 'ended' });
    expect(await (await status(alex, ownId)).json()).toEqual({ state: 'open' });
    expect(await (await status(alex, again.linkId)).json()).toEqual({ state: 'open' });
  });
});
