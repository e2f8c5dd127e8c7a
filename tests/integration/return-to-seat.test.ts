/**
 * Returning to a seat end to end against the real server (docs/protocol.md, "Returning to a
 * seat"), with the devices' own code (`@mend/sealed`): Alex's only device is lost and has no
 * recovery kit; Sam removes it in an emergency, offers a return link for Alex's seat, the new
 * device claims it, Sam's device writes the return statement and confirms, and Alex's new device
 * (with a fresh seat secret) reads the space and writes; Sam's device lists it as brought back.
 */
import {
  claimLink,
  confirmLink,
  linkCheckFor,
  linkStatus,
  offerLink,
  removeDevice,
  toBase64Url,
} from '@mend/sealed';
import { describe, expect, it } from 'vitest';
import { propose, titles, until, useMemorySessions } from '../support/memorySessions.js';

const rig = useMemorySessions();

describe('returning to a seat', () => {
  it('brings Alex back on a new device after Sam removed Alex’s only device', async () => {
    const { spaceId, alex, sam } = await rig.couple();
    const options = { baseUrl: rig.server.url };
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
    const laptop = rig.open(membership);
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
