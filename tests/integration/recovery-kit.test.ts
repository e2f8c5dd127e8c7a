/**
 * The recovery kit end to end against the real server (docs/protocol.md, "Recovery kit"), with
 * the devices' own code (`@mend/sealed`): Alex makes a kit, loses every device, and a fresh
 * device takes the seat back with the code, reads and writes the space with Sam, and uses the
 * kit up; wrong codes are refused, and a space that saw five of them makes every attempt wait.
 * Each recovery runs Argon2id (19 MiB, about 0.4 s), so the runs are few.
 */
import {
  addPartner,
  initSpace,
  listAgreements,
  proposeAgreement,
  type PartnerId,
} from '@mend/model';
import {
  createSealedSpace,
  currentRecoveryDevice,
  formatRecoveryCode,
  joinSealedSpace,
  makeRecoveryKit,
  newRecoveryCode,
  openMemorySession,
  recoverSeat,
  RecoveryError,
  RecoveryErrorReason,
  rotateKeys,
  toBase64Url,
  type SealedMembership,
  type ShortSession,
} from '@mend/sealed';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../support/api.js';
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
async function open(membership: SealedMembership): Promise<ShortSession> {
  const session = openMemorySession(membership, {
    openSocket: (m) => network.open(server, m),
    reconnectDelay: () => 50,
    api: { baseUrl: server.url },
  });
  sessions.push(session);
  return Promise.resolve(session);
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

/** Alex creates the space and Sam joins; each device is a session that opens its own epoch boxes. */
async function couple() {
  const created = await createSealedSpace({ baseUrl: server.url });
  const alex = await open(created);
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
  const sam = await open(joined);
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

function propose(session: ShortSession, title: string): void {
  const by = session.membership.partnerId as PartnerId;
  proposeAgreement(session.replica.doc, { title, body: `${title}, said plainly.`, by, at: 1 });
}

describe('the recovery kit', () => {
  it('takes Alex’s seat back on a fresh device after every device of Alex’s is lost, once', async () => {
    const { spaceId, alex, sam } = await couple();
    const alexPartner = alex.membership.partnerId;

    const kit = await makeRecoveryKit(alex, { baseUrl: server.url, origin: server.url });
    expect(kit.link).toBe(`${server.url}/recover/${spaceId}#r=${kit.code}`);
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
      baseUrl: server.url,
      step: (step) => steps.push(step),
      openSession: (membership) => open(membership),
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
    const phone = await open(membership);
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
      baseUrl: server.url,
      openSession: () => Promise.reject(new Error('not this far')),
    }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(RecoveryError);
    expect((again as RecoveryError).reason).toBe(RecoveryErrorReason.wrongCode);
  });

  it('takes the seat back with a kit made before a key change: the recovery device catches up through its epoch box', async () => {
    const { spaceId, alex, sam } = await couple();
    const kit = await makeRecoveryKit(alex, { baseUrl: server.url, origin: server.url });
    await until(
      () => currentRecoveryDevice(sam.replica, alex.membership.partnerId) !== null,
      'Sam’s device to list the kit',
    );
    // Later the space moves to a new key (a lost laptop removed, say), and a snapshot under it
    // compacts the statement that boxed the key to the kit away.
    const rotated = await rotateKeys(alex, { baseUrl: server.url });
    expect(rotated.snapshotStored).toBe(true);
    propose(alex, 'After the new key');
    await until(() => settled(alex), 'Alex’s agreement to be stored');
    await alex.destroy();

    const { membership } = await recoverSeat(spaceId, kit.code, {
      baseUrl: server.url,
      openSession: (m) => open(m),
    });
    const phone = await open(membership);
    await until(() => titles(phone).includes('After the new key'), 'the agreement on the phone');
    propose(phone, 'Back with the kit');
    await until(() => titles(sam).includes('Back with the kit'), 'the new agreement at Sam’s');
    expect(sam.replica.setAside).toEqual([]);
  });

  it('refuses a wrong code with 403, and after five failures in an hour makes every attempt wait (429)', async () => {
    const { spaceId, alex } = await couple();
    await makeRecoveryKit(alex, { baseUrl: server.url, origin: server.url });
    const noSession = { openSession: () => Promise.reject(new Error('not this far')) };

    const wrong = await recoverSeat(spaceId, formatRecoveryCode(newRecoveryCode()), {
      baseUrl: server.url,
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
      const { challenge } = (await postJson(server, `${path}/challenge`, {})).json as {
        challenge: string;
      };
      const attempt = await postJson(server, path, {
        signingKey: randomBytes(32).toString('base64url'),
        challenge,
        signature: randomBytes(64).toString('base64url'),
      });
      expect(attempt.status).toBe(403);
    }

    const limited = await recoverSeat(spaceId, formatRecoveryCode(newRecoveryCode()), {
      baseUrl: server.url,
      ...noSession,
    }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RecoveryError);
    expect((limited as RecoveryError).reason).toBe(RecoveryErrorReason.tooMany);
    expect((limited as RecoveryError).retryAfterSeconds).toBeGreaterThan(3500);
    expect((limited as RecoveryError).message).toMatch(/Please try again in 1 hour\.$/);
  });
});
