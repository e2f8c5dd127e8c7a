import { listPartners, setDisplayName } from '@mend/model';
import { IDBFactory as FakeIDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { fromBase64Url, toBase64Url } from '../bytes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { newDeviceIdentity } from '../identity.js';
import { openLinkBox, sealLinkBox } from '../link.js';
import { decodeEnvelope } from '@mend/protocol';
import { newSeatSecret } from '../reveal.js';
import { newSpaceKey } from '../SpaceKeyring.js';
import {
  claimLink,
  confirmLink,
  endLink,
  linkCheckFor,
  linkStatus,
  offerLink,
  type LinkDevice,
} from './linking.js';
import { SealedSession } from './SealedSession.js';
import { until } from './testing/fakeServer.js';
import { FakeLinkServer } from './testing/linkServer.js';
import { ALEX, SAM, spaceId } from './testing/sealedSpace.js';
import { pageOf, sessionWorld, type SessionWorld } from './testing/session.js';

const opened: SealedSession[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.destroy()));
});

/** Alex's phone (a session, synced) in a space with Sam, and the link routes of the server. */
async function world() {
  const w = await sessionWorld();
  const links = new FakeLinkServer(
    spaceId,
    { token: ALEX, samToken: SAM },
    {
      signingKey: toBase64Url(w.space.creator.signing.publicKey),
      agreementKey: toBase64Url(w.space.creator.agreement.publicKey),
    },
  );
  const phone = await pageOf(w, opened);
  await until(() => phone.provider.synced, 'the phone to sync');
  const options = { fetch: links.fetch, retryPausesMs: [0, 0, 0] };
  return { ...w, links, phone, options };
}

/** The new device opens the space with the membership it collected, as the app would. */
async function openLinked(
  w: SessionWorld,
  membership: Parameters<typeof SealedSession.saveMembership>[0],
) {
  const indexedDB = new FakeIDBFactory();
  await SealedSession.saveMembership(membership, { indexedDB });
  const session = await SealedSession.open({
    spaceId,
    doc: new Y.Doc(),
    awareness: null,
    openSocket: w.server.openSocket,
    indexedDB,
    reconnectDelay: () => null,
    savePauseMs: 0,
  });
  opened.push(session);
  return session;
}

const fast = { pollPausesMs: [0] };

describe('linking a device', () => {
  it('brings the laptop into Alex’s seat: same digits on both screens, then the keys and the seat secret', async () => {
    const w = await world();
    const offer = await offerLink(w.phone, w.options);
    expect(w.links.requests[0]).toMatchObject({
      method: 'POST',
      path: `/api/sealed-spaces/${spaceId}/links`,
    });
    // The server receives the code, never the secret.
    expect(JSON.stringify(w.links.requests)).not.toContain(offer.linkText);

    const claim = await claimLink(spaceId, offer.linkText, w.options);
    const status = await linkStatus(w.phone, offer.linkId, w.options);
    expect(status.state).toBe('claimed');
    expect(linkCheckFor(offer.linkSecret, status.device!)).toBe(claim.check);

    const collecting = claim.collect(fast);
    const { linkSeq } = await confirmLink(
      { session: w.phone, linkId: offer.linkId, device: status.device! },
      w.options,
    );
    const linked = await collecting;
    expect(linked.linkSeq).toBe(linkSeq);
    const { membership } = linked;
    expect(membership.partnerId).toBe(ALEX);
    expect(membership.seatSecret).toEqual(w.phone.membership.seatSecret);
    expect(membership.creator).toEqual(w.phone.membership.creator);
    expect(membership.keyring.toStored()).toEqual(w.phone.membership.keyring.toStored());
    expect(w.links.issued.get(membership.token)).toBe(ALEX);
    expect(w.phone.replica.linkFor(membership.identity.signing.publicKey)?.seq).toBe(linkSeq);

    // The laptop syncs, announces itself past the link, and writes as Alex.
    const laptop = await openLinked(w, membership);
    const me = membership.identity.signing.publicKey;
    await until(() => w.phone.replica.partnerOf(me) === ALEX, 'the phone to see the laptop');
    expect(w.phone.replica.devices().at(-1)).toMatchObject({
      signingKey: toBase64Url(me),
      partnerId: ALEX,
      linkedBy: toBase64Url(w.phone.membership.identity.signing.publicKey),
    });
    setDisplayName(laptop.replica.doc, { partnerId: ALEX, displayName: 'Alex, on the laptop' });
    await until(
      () => listPartners(w.phone.replica.doc)[0]?.displayName === 'Alex, on the laptop',
      'the laptop’s edit to reach the phone',
    );
    w.sam.sync();
    expect(w.sam.replica.setAside).toEqual([]);
    expect(w.sam.replica.devices().map((d) => [d.partnerId, d.linkedBy !== null])).toEqual([
      [ALEX, false],
      [SAM, false],
      [ALEX, true],
    ]);
    expect(laptop.setAside()).toEqual([]);
  });

  it('survives lost answers: the claim, each poll and the confirm are sent again', async () => {
    const w = await world();
    const offer = await offerLink(w.phone, w.options);
    w.links.loseAnswerTo = '/claim';
    const claim = await claimLink(spaceId, offer.linkText, w.options);
    const { device } = await linkStatus(w.phone, offer.linkId, w.options);
    expect(w.links.requests.filter((r) => r.path.endsWith('/claim'))).toHaveLength(2);
    w.links.loseAnswerTo = '/confirm';
    await confirmLink({ session: w.phone, linkId: offer.linkId, device: device! }, w.options);
    expect(w.links.requests.filter((r) => r.path.endsWith('/confirm'))).toHaveLength(2);
    w.links.loseAnswerTo = '/claim';
    const linked = await claim.collect(fast);
    expect(w.links.loseAnswerTo).toBeNull();
    // Two tokens went out for the confirmed claim: the first answer was lost.
    expect(w.links.issued.size).toBe(2);
    expect(w.links.issued.get(linked.membership.token)).toBe(ALEX);
    // A confirm sent again after it went through finds the link confirmed and the statement in the log.
    const again = await confirmLink(
      { session: w.phone, linkId: offer.linkId, device: device! },
      w.options,
    );
    expect(again.linkSeq).toBe(linked.linkSeq);
    expect(w.space.log.entries.filter((e) => e[1] === 5)).toHaveLength(1);
  });

  it('refuses a second claimer, a link that was ended, and a link text that is not one', async () => {
    const w = await world();
    const offer = await offerLink(w.phone, w.options);
    await claimLink(spaceId, offer.linkText, w.options);
    await expect(claimLink(spaceId, offer.linkText, w.options)).rejects.toMatchObject({
      name: 'LinkError',
      reason: 'taken',
    });
    const next = await offerLink(w.phone, w.options);
    await endLink(w.phone, next.linkId, w.options);
    await endLink(w.phone, next.linkId, w.options);
    await expect(claimLink(spaceId, next.linkText, w.options)).rejects.toMatchObject({
      reason: 'gone',
    });
    await expect(linkStatus(w.phone, offer.linkId, w.options)).resolves.toMatchObject({
      state: 'ended',
    });
    await expect(claimLink(spaceId, 'not a link', w.options)).rejects.toMatchObject({
      reason: SealedErrorReason.malformed,
    });
  });

  it('confirms only the device whose digits were compared, and only from a device in the log', async () => {
    const w = await world();
    const offer = await offerLink(w.phone, w.options);
    const unclaimed = { signingKey: new Uint8Array(32), agreementKey: new Uint8Array(32) };
    await expect(
      confirmLink({ session: w.phone, linkId: offer.linkId, device: unclaimed }, w.options),
    ).rejects.toMatchObject({ reason: 'not-claimed' });
    await claimLink(spaceId, offer.linkText, w.options);
    const { device } = await linkStatus(w.phone, offer.linkId, w.options);
    // The server swaps the device after the person compared the digits.
    const other = newDeviceIdentity();
    w.links.substitute = {
      signingKey: toBase64Url(other.signing.publicKey),
      agreementKey: toBase64Url(other.agreement.publicKey),
    };
    await expect(
      confirmLink({ session: w.phone, linkId: offer.linkId, device: device! }, w.options),
    ).rejects.toMatchObject({ reason: 'other-device' });
    // The substitute shows other digits than the device that claimed.
    const swapped = (await linkStatus(w.phone, offer.linkId, w.options)).device!;
    expect(linkCheckFor(offer.linkSecret, swapped)).not.toBe(
      linkCheckFor(offer.linkSecret, device!),
    );
    expect(w.space.log.entries.filter((e) => e[1] === 5)).toHaveLength(0);

    // A device whose own member statement is not in its log cannot vouch for another.
    const stranger = { ...w.phone, replica: { partnerOf: () => null, linkFor: () => null } };
    await expect(
      confirmLink(
        { session: stranger as unknown as typeof w.phone, linkId: offer.linkId, device: device! },
        w.options,
      ),
    ).rejects.toMatchObject({ name: 'LinkError', reason: 'not-member' });
  });

  it('stops collecting when told, and refuses a box sealed for another device or naming another creator', async () => {
    const w = await world();
    const offer = await offerLink(w.phone, w.options);
    const claim = await claimLink(spaceId, offer.linkText, w.options);
    const stop = new AbortController();
    const collecting = claim.collect({ pollPausesMs: [5], signal: stop.signal });
    stop.abort();
    await expect(collecting).rejects.toMatchObject({ reason: 'cancelled' });

    // The server hands over a box the claiming device cannot open.
    const link = w.links.links.at(-1)!;
    const payload = {
      epochs: [{ epoch: 1, spaceKey: newSpaceKey() }],
      creatorSigningKey: w.space.creator.signing.publicKey,
      seatSecret: newSeatSecret(),
    };
    link.state = 'confirmed';
    link.confirmed = {
      box: toBase64Url(sealLinkBox(newDeviceIdentity().agreement.publicKey, payload)),
      linkSeq: 5,
    };
    const notMine = await claim.collect(fast).catch((e: unknown) => e);
    expect(notMine).toBeInstanceOf(SealedError);
    expect((notMine as SealedError).reason).toBe(SealedErrorReason.badCiphertext);

    const second = await offerLink(w.phone, w.options);
    const claim2 = await claimLink(spaceId, second.linkText, w.options);
    const claimed = w.links.links.at(-1)!;
    const device: LinkDevice = {
      signingKey: fromBase64Url(claimed.claim!.signingKey, 32),
      agreementKey: fromBase64Url(claimed.claim!.agreementKey, 32),
    };
    claimed.state = 'confirmed';
    claimed.confirmed = {
      box: toBase64Url(
        sealLinkBox(device.agreementKey, {
          ...payload,
          creatorSigningKey: newDeviceIdentity().signing.publicKey,
        }),
      ),
      linkSeq: 5,
    };
    await expect(claim2.collect(fast)).rejects.toMatchObject({ reason: SealedErrorReason.badKey });
  });
});

describe('bringing the other partner back to their seat', () => {
  /** Sam's only device removed by Alex (another device of Alex's, the same keys) in an emergency. */
  async function samRemoved() {
    const w = await world();
    w.alex.sync();
    w.server.relay(w.alex.newEpoch([w.sam.identity]).seq);
    await until(() => w.phone.replica.standing.epoch === 2, 'the phone to take the new key');
    return w;
  }

  it('offers a return link, writes a return statement, and hands over no seat secret: the device makes its own', async () => {
    const w = await samRemoved();
    const offer = await offerLink(w.phone, { ...w.options, seat: 'partner' });
    expect(w.links.requests[0]).toMatchObject({
      method: 'POST',
      path: `/api/sealed-spaces/${spaceId}/links`,
      body: { linkCode: expect.any(String), seat: 'partner' },
    });
    const claim = await claimLink(spaceId, offer.linkText, w.options);
    const { device } = await linkStatus(w.phone, offer.linkId, w.options);
    expect(linkCheckFor(offer.linkSecret, device!)).toBe(claim.check);
    const collecting = claim.collect(fast);
    const { linkSeq } = await confirmLink(
      { session: w.phone, linkId: offer.linkId, device: device!, returning: SAM },
      w.options,
    );
    const { membership } = await collecting;
    // The statement is a return (keys type 4), by the phone, for Sam's seat.
    const stored = w.space.log.entries[linkSeq - 1]!;
    expect(decodeEnvelope(stored).kind).toBe(5);
    expect(w.phone.replica.linkFor(device!.signingKey)).toMatchObject({
      seq: linkSeq,
      returned: true,
      link: { partnerId: SAM },
    });
    // The box holds 32 zero bytes for the seat secret; the collected membership a fresh one.
    const box = fromBase64Url(w.links.links.at(-1)!.confirmed!.box);
    expect([...openLinkBox(membership.identity, box)!.seatSecret]).toEqual(Array(32).fill(0));
    expect(membership.seatSecret.some((b) => b !== 0)).toBe(true);
    expect(membership.seatSecret).not.toEqual(w.phone.membership.seatSecret);
    expect(membership.partnerId).toBe(SAM);
    expect(w.links.issued.get(membership.token)).toBe(SAM);
    expect(membership.keyring.toStored()).toEqual(w.phone.membership.keyring.toStored());

    // Sam's new device announces itself past the return and writes as Sam; Alex lists it as brought back.
    const samAgain = await openLinked(w, membership);
    const me = membership.identity.signing.publicKey;
    await until(() => w.phone.replica.partnerOf(me) === SAM, 'the phone to see Sam’s new device');
    expect(w.phone.replica.devices().at(-1)).toMatchObject({
      signingKey: toBase64Url(me),
      partnerId: SAM,
      linkedBy: toBase64Url(w.phone.membership.identity.signing.publicKey),
      returned: true,
    });
    setDisplayName(samAgain.replica.doc, { partnerId: SAM, displayName: 'Sam, back' });
    await until(
      () => listPartners(w.phone.replica.doc).some((p) => p.displayName === 'Sam, back'),
      'Sam’s edit to reach the phone',
    );
    expect(w.phone.setAside()).toEqual([]);
    expect(samAgain.setAside()).toEqual([]);
  });

  it('writes no return while the seat still has a device, nor one into its own seat', async () => {
    const w = await world();
    const offer = await offerLink(w.phone, { ...w.options, seat: 'partner' });
    await claimLink(spaceId, offer.linkText, w.options);
    const { device } = await linkStatus(w.phone, offer.linkId, w.options);
    for (const returning of [SAM, ALEX]) {
      await expect(
        confirmLink(
          { session: w.phone, linkId: offer.linkId, device: device!, returning },
          w.options,
        ),
      ).rejects.toMatchObject({ name: 'LinkError', reason: 'seat-held' });
    }
    expect(w.space.log.entries.filter((e) => e[1] === 5)).toHaveLength(0);
    expect(w.links.requests.some((r) => r.path.endsWith('/confirm'))).toBe(false);
  });

  it('takes a box with a seat secret as it is: a plain link keeps the seat’s', async () => {
    const w = await world();
    const offer = await offerLink(w.phone, w.options);
    expect(w.links.requests[0]!.body).toEqual({ linkCode: expect.any(String) });
    const claim = await claimLink(spaceId, offer.linkText, w.options);
    const { device } = await linkStatus(w.phone, offer.linkId, w.options);
    const collecting = claim.collect(fast);
    await confirmLink({ session: w.phone, linkId: offer.linkId, device: device! }, w.options);
    expect((await collecting).membership.seatSecret).toEqual(w.phone.membership.seatSecret);
    expect(w.phone.replica.linkFor(device!.signingKey)?.returned).toBe(false);
  });
});
