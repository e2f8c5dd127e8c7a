// Sealed couples for the bench: each space created and joined over Mend's HTTP API by
// @mend/sealed (device keys, space key and welcome box made here, never on the server); then each
// device states its seat and writes itself into the sealed document, as the app does on create
// and join. Set-up, not measured.
import * as model from '@mend/model';
import { createSealedSpace, joinSealedSpace } from '@mend/sealed';
import { pool, withTimeout } from './clients.mjs';
import { createSealedClient } from './sealedClient.mjs';
import { scratchDir, startTarget } from './targets.mjs';

const COLORS = ['#3b6e8f', '#8f5b3b'];

/**
 * Opens `device`'s sealed socket, lets it announce its seat, applies `write` to its document and
 * waits until the server acknowledged everything it sealed.
 */
async function takeSeat(target, device, write) {
  const client = createSealedClient(target, device);
  try {
    await withTimeout(client.ready(), 60_000, 'sealed seat sync');
    write(client.doc);
    await withTimeout(client.settled(), 60_000, 'sealed seat written');
    if (client.setAside.length > 0) {
      throw new Error(`set aside while taking a seat: ${client.setAside[0].detail}`);
    }
  } finally {
    client.destroy();
  }
}

/**
 * n sealed couples on a running Mend: `{ room, tokens, devices }`, where `devices` hold each
 * partner's keys and keyring (kept in this process, as a device keeps them).
 */
export async function provisionSealedCouples(target, n, firstIndex = 0) {
  const baseUrl = target.http;
  const indices = Array.from({ length: n }, (_, i) => firstIndex + i);
  return pool(indices, 8, async (index) => {
    const a = await createSealedSpace({ baseUrl });
    const b = await joinSealedSpace(a.spaceId, a.inviteSecret, { baseUrl });
    const at = Date.now();
    await takeSeat(target, a, (doc) => {
      model.initSpace(doc, { name: 'Bench space', createdAt: at });
      model.addPartner(doc, {
        id: a.partnerId,
        displayName: `A${index}`,
        joinedAt: at,
        color: COLORS[0],
      });
    });
    await takeSeat(target, b, (doc) =>
      model.addPartner(doc, {
        id: b.partnerId,
        displayName: `B${index}`,
        joinedAt: at,
        color: COLORS[1],
      }),
    );
    return { room: a.spaceId, tokens: [a.token, b.token], devices: [a, b] };
  });
}

/** A Mend data directory holding n sealed couples, built once per run (see mendTemplate). */
export async function sealedTemplate(n) {
  const dir = scratchDir('mend-sealed-template');
  const mend = await startTarget('mend-sealed', { dataDir: dir, skipFsync: true });
  try {
    return { dir, couples: await provisionSealedCouples(mend, n) };
  } finally {
    await mend.stop();
  }
}
