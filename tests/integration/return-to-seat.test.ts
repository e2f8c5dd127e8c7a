/**
 * Returning to a seat end to end against the real server (docs/protocol.md, "Returning to a
 * seat"), with the devices' own code (`@mend/sealed`): Alex's only device is lost and has no
 * recovery kit; Sam removes it in an emergency, offers a return link for Alex's seat, the new
 * device claims it, Sam's device writes the return statement and confirms, and Alex's new device
 * (with a fresh seat secret) reads the space and writes; Sam's device lists it as brought back.
 */
import {
  addPartner,
  initSpace,
  listAgreements,
  proposeAgreement,
  type PartnerId,
} from '@mend/model';
import {
  claimLink,
  confirmLink,
  createSealedSpace,
  joinSealedSpace,
  linkCheckFor,
  linkStatus,
  offerLink,
  openMemorySession,
  removeDevice,
  toBase64Url,
  type SealedMembership,
  type ShortSession,
} from '@mend/sealed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../support/sealedClient.js';
import { startServer, withTimeout, type MendServer } from '../support/server.js';

let server: MendServer;
const network = new Network();
const sessions: ShortSession[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.destroy()));
  await server?.dispose();
});

/** The space open as `membership`'s device, in memory, over `ws` with its Bearer token. */
function open(membership: SealedMembership): ShortSession {
  const session = openMemorySession(membership, {
    openSocket: (m) => network.open(server, m),
    reconnectDelay: () => 50,
    api: { baseUrl: server.url },
  });
  sessions.push(session);
  return session;
}

/** Resolves once `predicate()` holds (checked every 10 ms), or fails after 10 s. */
function until(predicate: () => boolean, what: string): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      const check = () => (predicate() ? resolve() : setTimeout(check, 10));
      check();
    }),
    10_000,
    `timed out waiting for ${what}`,
  );
}

const settled = (s: ShortSession) => s.provider.synced && s.provider.waiting === 0;
const titles = (s: ShortSession) => listAgreements(s.replica.doc).map((a) => a.title);

function propose(session: ShortSession, title: string): void {
  const by = session.membership.partnerId as PartnerId;
  proposeAgreement(session.replica.doc, { title, body: `${title}, said plainly.`, by, at: 1 });
}

/** Alex creates the space and Sam joins, each on one device. */
async function couple() {
  const created = await createSealedSpace({ baseUrl: server.url });
  const alex = open(created);
  await until(() => alex.provider.synced, 'Alex’s first sync');
  initSpace(alex.replica.doc, { name: 'Ours', createdAt: Date.now() });
  addPartner(alex.replica.doc, {
    id: created.partnerId,
    displayName: 'Alex',
    joinedAt: Date.now(),
    color: '#aa3355',
  });
  await until(() => settled(alex), 'Alex’s seat to be stored');
  const joined = await joinSealedSpace(created.spaceId, created.inviteSecret, {
    baseUrl: server.url,
  });
  const sam = open(joined);
  await until(() => sam.provider.synced, 'Sam’s first sync');
  addPartner(sam.replica.doc, {
    id: joined.partnerId,
    displayName: 'Sam',
    joinedAt: Date.now(),
    color: '#3355aa',
  });
  await until(() => settled(sam), 'Sam’s seat to be stored');
  await until(() => alex.replica.since === sam.replica.since, 'Sam’s seat at Alex’s');
  return { spaceId: created.spaceId, alex, sam };
}

describe('returning to a seat', () => {
  it('brings Alex back on a new device after Sam removed Alex’s only device', async () => {
    const { spaceId, alex, sam } = await couple();
    const options = { baseUrl: server.url };
    const alexPartner = alex.membership.partnerId;
    propose(alex, 'Walk after dinner');
    await until(() => titles(sam).includes('Walk after dinner'), 'the agreement at Sam’s');

    // While Alex's device is in the space, the server refuses a return link for the seat.
    const early = await offerLink(sam, { ...options, seat: 'partner' }).catch((e: unknown) => e);
    expect(early).toMatchObject({ status: 409 });

    // Alex's only device is lost, with no recovery kit: Sam removes it in an emergency.
    await alex.destroy();
    const removed = await removeDevice(sam, alex.membership.identity.signing.publicKey, options);
    expect(removed.epoch).toBe(2);

    const offer = await offerLink(sam, { ...options, seat: 'partner' });
    const claim = await claimLink(spaceId, offer.linkText, options);
    const { state, device } = await linkStatus(sam, offer.linkId, options);
    expect(state).toBe('claimed');
    expect(linkCheckFor(offer.linkSecret, device!)).toBe(claim.check);
    const collecting = claim.collect({ pollPausesMs: [50] });
    const { linkSeq } = await confirmLink(
      { session: sam, linkId: offer.linkId, device: device!, returning: alexPartner },
      options,
    );
    const { membership } = await collecting;
    expect(membership.partnerId).toBe(alexPartner);
    expect(membership.seatSecret).not.toEqual(alex.membership.seatSecret);
    expect(membership.seatSecret.some((b) => b !== 0)).toBe(true);
    expect(membership.keyring.latest?.epoch).toBe(2);
    expect(sam.replica.linkFor(device!.signingKey)).toMatchObject({ seq: linkSeq, returned: true });

    // Alex's new device reads what the space held and writes as Alex.
    const laptop = open(membership);
    await until(() => titles(laptop).includes('Walk after dinner'), 'the agreement on the laptop');
    propose(laptop, 'Phones away at night');
    await until(() => titles(sam).includes('Phones away at night'), 'the new agreement at Sam’s');
    expect(sam.replica.setAside).toEqual([]);
    expect(laptop.replica.setAside).toEqual([]);

    // Sam's device lists it as brought back by Sam's device, and the lost one as removed by it.
    const me = toBase64Url(membership.identity.signing.publicKey);
    const samDevice = toBase64Url(sam.membership.identity.signing.publicKey);
    const devices = sam.replica.devices();
    expect(devices.find((d) => d.signingKey === me)).toMatchObject({
      partnerId: alexPartner,
      linkedBy: samDevice,
      returned: true,
      announced: true,
      removedAt: null,
    });
    expect(
      devices.find((d) => d.signingKey === toBase64Url(alex.membership.identity.signing.publicKey)),
    ).toMatchObject({ removedBy: samDevice });

    // The seat is held again: a second return link is refused.
    const again = await offerLink(sam, { ...options, seat: 'partner' }).catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 409 });
  });
});
