/**
 * The recovery kit end to end against the real server (docs/protocol.md, "Recovery kit"), with
 * the devices' own code (`@mend/sealed`): Alex makes a kit, loses every device, and a fresh
 * device takes the seat back with the code, reads and writes the space with Sam, and uses the
 * kit up; wrong codes are refused, and a space that saw five of them makes every attempt wait.
 * Each recovery runs Argon2id (19 MiB, about 0.4 s), so the runs are few.
 */
import {
  currentRecoveryDevice,
  formatRecoveryCode,
  makeRecoveryKit,
  newRecoveryCode,
  recoverSeat,
  RecoveryError,
  RecoveryErrorReason,
  rotateKeys,
  toBase64Url,
} from '@mend/sealed';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { postJson } from '../support/api.js';
import { propose, settled, titles, until, useMemorySessions } from '../support/memorySessions.js';

const rig = useMemorySessions();

describe('the recovery kit', () => {
  it('takes Alex’s seat back on a fresh device after every device of Alex’s is lost, once', async () => {
    const { spaceId, alex, sam } = await rig.couple();
    const alexPartner = alex.membership.partnerId;

    const kit = await makeRecoveryKit(alex, { baseUrl: rig.server.url, origin: rig.server.url });
    expect(kit.link).toBe(`${rig.server.url}/recover/${spaceId}#r=${kit.code}`);
    await until(
      () => currentRecoveryDevice(sam.replica, alexPartner) !== null,
      'Sam’s device to list Alex’s recovery kit',
    );
    const recoveryDevice = currentRecoveryDevice(sam.replica, alexPartner)!;
    expect(recoveryDevice).toMatchObject({ announced: false, removedAt: null });

    propose(alex, 'Walk after dinner');
    await until(() => settled(alex), 'Alex’s agreement to be stored');
    // Every device of Alex's is lost.
    await alex.destroy();

    const steps: string[] = [];
    const kept: (number | undefined)[] = [];
    const recovered = await recoverSeat(spaceId, kit.code.toLowerCase(), {
      baseUrl: rig.server.url,
      step: (step) => steps.push(step),
      openSession: async (membership) => rig.open(membership),
      keep: async (m) => void kept.push(m.keyring.latest?.epoch),
    });
    expect(steps).toEqual(['checking', 'opening', 'adding']);
    expect(recovered.usedUp).toBe(true);
    expect(toBase64Url(recovered.recoveryDevice)).toBe(recoveryDevice.signingKey);
    const { membership } = recovered;
    expect(membership.partnerId).toBe(alexPartner);
    expect(membership.seatSecret).toEqual(alex.membership.seatSecret);
    expect(membership.keyring.latest?.epoch).toBe(2);
    // Kept once it existed, and again with the new epoch's key.
    expect(kept).toEqual([1, 2]);

    // The new device opens the space as the app would: it reads Alex's agreement, writes one.
    const phone = rig.open(membership);
    await until(() => titles(phone).includes('Walk after dinner'), 'the agreement on the phone');
    propose(phone, 'Phones away at night');
    await until(() => titles(sam).includes('Phones away at night'), 'the new agreement at Sam’s');
    expect(sam.replica.setAside).toEqual([]);
    expect(phone.replica.setAside).toEqual([]);

    // Sam's device lists the phone as added with the recovery kit, and the kit as removed.
    const devices = sam.replica.devices();
    const me = toBase64Url(membership.identity.signing.publicKey);
    expect(devices.find((d) => d.signingKey === me)).toMatchObject({
      partnerId: alexPartner,
      linkedBy: recoveryDevice.signingKey,
      announced: true,
      removedAt: null,
    });
    expect(devices.find((d) => d.signingKey === recoveryDevice.signingKey)).toMatchObject({
      recovery: true,
      announced: true,
      removedBy: me,
    });
    expect(currentRecoveryDevice(sam.replica, alexPartner)).toBeNull();
    expect(sam.membership.keyring.latest?.epoch).toBe(2);

    // Used up: the same code no longer opens the space.
    const again = await recoverSeat(spaceId, kit.code, {
      baseUrl: rig.server.url,
      openSession: () => Promise.reject(new Error('not this far')),
    }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(RecoveryError);
    expect((again as RecoveryError).reason).toBe(RecoveryErrorReason.wrongCode);
  });

  it('takes the seat back with a kit made before a key change: the recovery device catches up through its epoch box', async () => {
    const { spaceId, alex, sam } = await rig.couple();
    const kit = await makeRecoveryKit(alex, { baseUrl: rig.server.url, origin: rig.server.url });
    await until(
      () => currentRecoveryDevice(sam.replica, alex.membership.partnerId) !== null,
      'Sam’s device to list the kit',
    );
    // Later the space moves to a new key (a lost laptop removed, say), and a snapshot under it
    // compacts the statement that boxed the key to the kit away.
    const rotated = await rotateKeys(alex, { baseUrl: rig.server.url });
    expect(rotated.snapshotStored).toBe(true);
    propose(alex, 'After the new key');
    await until(() => settled(alex), 'Alex’s agreement to be stored');
    await alex.destroy();

    const { membership } = await recoverSeat(spaceId, kit.code, {
      baseUrl: rig.server.url,
      openSession: async (m) => rig.open(m),
    });
    const phone = rig.open(membership);
    await until(() => titles(phone).includes('After the new key'), 'the agreement on the phone');
    propose(phone, 'Back with the kit');
    await until(() => titles(sam).includes('Back with the kit'), 'the new agreement at Sam’s');
    expect(sam.replica.setAside).toEqual([]);
  });

  it('refuses a wrong code with 403, and after five failures in an hour makes every attempt wait (429)', async () => {
    const { spaceId, alex } = await rig.couple();
    await makeRecoveryKit(alex, { baseUrl: rig.server.url, origin: rig.server.url });
    const noSession = { openSession: () => Promise.reject(new Error('not this far')) };

    const wrong = await recoverSeat(spaceId, formatRecoveryCode(newRecoveryCode()), {
      baseUrl: rig.server.url,
      ...noSession,
    }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({
      name: 'RecoveryError',
      reason: RecoveryErrorReason.wrongCode,
      message: expect.stringMatching(/^This code does not open this space/),
    });

    // Four more failures, sent by hand (no Argon2id needed to be wrong).
    for (let i = 0; i < 4; i++) {
      const path = `/api/sealed-spaces/${spaceId}/recovery`;
      const { challenge } = (await postJson(rig.server, `${path}/challenge`, {})).json as {
        challenge: string;
      };
      const attempt = await postJson(rig.server, path, {
        signingKey: randomBytes(32).toString('base64url'),
        challenge,
        signature: randomBytes(64).toString('base64url'),
      });
      expect(attempt.status).toBe(403);
    }

    const limited = await recoverSeat(spaceId, formatRecoveryCode(newRecoveryCode()), {
      baseUrl: rig.server.url,
      ...noSession,
    }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RecoveryError);
    expect((limited as RecoveryError).reason).toBe(RecoveryErrorReason.tooMany);
    expect((limited as RecoveryError).retryAfterSeconds).toBeGreaterThan(3500);
    expect((limited as RecoveryError).message).toMatch(/Please try again in 1 hour\.$/);
  });
});
