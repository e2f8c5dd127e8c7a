import { decodeEnvelope } from '@mend/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from './Outbox.js';
import { LEAVING_RULES } from './rulesBook.js';
import { SealedProvider } from './SealedProvider.js';
import { withPhone } from './testing/epochs.js';
import { FakeServer, until } from './testing/fakeServer.js';
import { providerOptionsOf, type Device } from './testing/sealedSpace.js';

/**
 * After a device left with a new key (docs/protocol.md, "Leaving a space"), which it could not
 * write the snapshot for: the first current device in the log's order writes it.
 */

const providers: SealedProvider[] = [];

afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy();
});

function providerOn(server: FakeServer, device: Device): SealedProvider {
  const provider = new SealedProvider({
    ...providerOptionsOf(device, new Outbox()),
    openSocket: server.openSocket,
    reconnectDelay: () => null,
  });
  providers.push(provider);
  return provider;
}

describe('SealedProvider after a device left', () => {
  it('the first current device writes a snapshot under the new key once caught up; the others do not', async () => {
    const { space, alex, sam, phone } = withPhone();
    phone.stateRules(LEAVING_RULES);
    const { seq } = phone.newEpoch([phone.identity]);
    const alexServer = new FakeServer(space.log);
    const samServer = new FakeServer(space.log);
    const first = providerOn(alexServer, alex);
    const other = providerOn(samServer, sam);
    await until(() => first.synced && other.synced, 'both synced');
    await until(() => alexServer.sockets.some((s) => s.snapshots().length > 0), 'the snapshot');
    const [snapshot, ...more] = alexServer.sockets.flatMap((s) => s.snapshots());
    expect(more).toEqual([]);
    const header = decodeEnvelope(snapshot!);
    expect(header.epoch).toBe(2);
    expect(header.covers!.seq).toBeGreaterThanOrEqual(seq);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(samServer.sockets.flatMap((s) => s.snapshots())).toEqual([]);
  });

  it('writes nothing after a removal by another device (its author writes the snapshot)', async () => {
    const { space, alex, sam, phone } = withPhone();
    sam.newEpoch([phone.identity]);
    const server = new FakeServer(space.log);
    const first = providerOn(server, alex);
    await until(() => first.synced, 'synced');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.sockets.flatMap((s) => s.snapshots())).toEqual([]);
  });
});
