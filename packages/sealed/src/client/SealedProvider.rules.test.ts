import { setDisplayName } from '@mend/model';
import { decodeEnvelope, EnvelopeKind } from '@mend/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { openEnvelope } from '../envelopes.js';
import { decodeRulesPayload } from '../payloads.js';
import { Outbox } from './Outbox.js';
import { SealedProvider } from './SealedProvider.js';
import { FakeServer, until } from './testing/fakeServer.js';
import { newerRules } from './testing/rules.js';
import { ALEX, createdAndJoined, Device, providerOptionsOf, SAM } from './testing/sealedSpace.js';

/**
 * The provider's part in rules versions (docs/protocol.md, "Rules versions"): a device that
 * knows newer rules than the log says so once it has caught up; a device that meets rules it
 * does not know stops syncing and says so, keeping what is written meanwhile.
 */

const providers: SealedProvider[] = [];

afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy();
});

function providerOn(server: FakeServer, device: Device, outbox = new Outbox()) {
  const provider = new SealedProvider({
    ...providerOptionsOf(device, outbox),
    openSocket: server.openSocket,
    // Were it not held, a closed socket would be opened again at once.
    reconnectDelay: () => 0,
  });
  providers.push(provider);
  const paused: number[] = [];
  provider.on('paused', (rules) => paused.push(rules));
  return { provider, paused };
}

describe('SealedProvider and rules versions', () => {
  it('states newer rules once it has caught up, and every device stands there after it', async () => {
    const { space, alex, sam } = createdAndJoined();
    const server = new FakeServer(space.log);
    const device = new Device(space, ALEX, alex.identity, newerRules);
    const { provider } = providerOn(server, device);
    await until(() => device.replica.rulesVersion === 3, 'its own statement taken in');
    const [statement, ...more] = server.submitted();
    expect(more).toEqual([]);
    expect(decodeEnvelope(statement!).kind).toBe(EnvelopeKind.keys);
    expect(decodeRulesPayload(openEnvelope(statement!, device.keyring).payload)).toBe(3);
    // Once is enough: a new connection states nothing more.
    provider.disconnect();
    provider.connect();
    await until(() => server.hellos.length === 2 && provider.synced, 'synced again');
    expect(server.submitted()).toHaveLength(1);
    const newer = new Device(space, SAM, sam.identity, newerRules);
    newer.sync();
    expect(newer.replica.rulesVersion).toBe(3);
    sam.sync();
    expect(sam.replica.paused).toBe(3);
  });

  it('states nothing while this device is not a member, once the log stands there, or for rules that only accept more', async () => {
    const { space, alex, sam } = createdAndJoined();
    // This build knows version 2, which only lets a device leave: it is stated when one does.
    const ownServer = new FakeServer(space.log);
    const own = providerOn(ownServer, new Device(space, ALEX, alex.identity));
    await until(() => own.provider.synced, 'this build synced');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ownServer.submitted()).toEqual([]);
    const strangersServer = new FakeServer(space.log);
    const stranger = new Device(space, ALEX, undefined, newerRules);
    const other = providerOn(strangersServer, stranger);
    await until(() => other.provider.synced, 'the stranger synced');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(strangersServer.submitted()).toEqual([]);
    expect(stranger.replica.rulesVersion).toBe(1);
    sam.stateRules(3);
    const server = new FakeServer(space.log);
    const member = new Device(space, ALEX, alex.identity, newerRules);
    const { provider } = providerOn(server, member);
    await until(() => provider.synced, 'synced');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(server.submitted()).toEqual([]);
    expect(member.replica.rulesVersion).toBe(3);
  });

  it('stops at rules it does not know: told, its socket closed and kept closed, nothing sent', async () => {
    const { space, alex, sam } = createdAndJoined();
    const statement = sam.stateRules(3);
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'After the statement' }));
    const server = new FakeServer(space.log);
    const device = new Device(space, ALEX, alex.identity);
    const { provider, paused } = providerOn(server, device);
    await until(() => paused.length === 1, 'told');
    expect(paused).toEqual([3]);
    expect(device.replica.since).toBe(statement);
    expect(provider.status.kind).toBe('disconnected');
    expect(server.sockets.map((s) => s.readyState)).toEqual([3]);
    // What is written now waits on the device; nothing reaches the server.
    setDisplayName(provider.doc, { partnerId: ALEX, displayName: 'Written while stopped' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(provider.waiting).toBe(1);
    expect(server.submitted()).toEqual([]);
    // Asked to connect (the device came back online), it says so again and opens nothing.
    provider.connect();
    expect(paused).toEqual([3, 3]);
    expect(server.sockets).toHaveLength(1);
    expect(device.replica.setAside).toEqual([]);
  });
});
