import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCouple, gauge, get, metrics, waitForGauge } from '../support/api.js';
import { openProvider, openRawSocket, rawSync, waitForSynced } from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';

let server: MendServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.dispose();
});

describe('metrics', () => {
  it('are served in the Prometheus text format on the metrics listener', async () => {
    const response = await metrics(server);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(response.text).toMatch(/^# TYPE mend_loaded_rooms gauge$/m);
    expect(response.text).toMatch(/^# TYPE mend_open_sockets gauge$/m);
  });

  it('are not served on the public port', async () => {
    const response = await get(server, '/metrics');
    expect(response.status).toBe(404);
    expect(response.text).not.toContain('mend_');
  });
});

describe('rooms', () => {
  it('load while sockets are connected and unload after the last socket leaves', async () => {
    // Measured before the space exists: creating and joining may load its room already.
    const roomsBefore = await gauge(server, 'mend_loaded_rooms');
    const socketsBefore = await gauge(server, 'mend_open_sockets');
    const couple = await createCouple(server);

    const a = openProvider(server, couple.spaceId, couple.a.token);
    const raw = await openRawSocket(server, couple.spaceId, { token: couple.b.token });
    await Promise.all([waitForSynced(a.provider), rawSync(raw)]);
    expect(await gauge(server, 'mend_loaded_rooms')).toBe(roomsBefore + 1);
    expect(await gauge(server, 'mend_open_sockets')).toBe(socketsBefore + 2);

    a.provider.destroy();
    await waitForGauge(server, 'mend_open_sockets', socketsBefore + 1);
    // One socket is still there: the room stays.
    expect(await gauge(server, 'mend_loaded_rooms')).toBe(roomsBefore + 1);

    raw.close();
    await raw.waitForClose();
    await waitForGauge(server, 'mend_open_sockets', socketsBefore);
    await waitForGauge(server, 'mend_loaded_rooms', roomsBefore);
  });

  it('unload even when the last socket was closed for bad input', async () => {
    const roomsBefore = await gauge(server, 'mend_loaded_rooms');
    const couple = await createCouple(server);
    const raw = await openRawSocket(server, couple.spaceId, { token: couple.a.token });
    await rawSync(raw);
    expect(await gauge(server, 'mend_loaded_rooms')).toBe(roomsBefore + 1);
    raw.send(Uint8Array.of(9, 9, 9));
    await raw.waitForClose();
    await waitForGauge(server, 'mend_loaded_rooms', roomsBefore);
  });
});
