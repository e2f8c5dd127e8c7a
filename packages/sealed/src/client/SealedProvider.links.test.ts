import { decodeEnvelope, EnvelopeKind, SealedMessage, type ServerMessage } from '@mend/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { newDeviceIdentity, type DeviceIdentity } from '../identity.js';
import { encodeLinkPayload } from '../payloads.js';
import { Outbox } from './Outbox.js';
import { KeysNotStoredError, SealedProvider } from './SealedProvider.js';
import { FakeSocket } from './testing/fakeServer.js';
import { ALEX, createdAndJoined, Device, type Space } from './testing/sealedSpace.js';

const providers: SealedProvider[] = [];

afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy();
});

function providerFor(device: Device) {
  const socket = new FakeSocket();
  const provider = new SealedProvider({
    replica: device.replica,
    awareness: null,
    identity: device.identity,
    keyring: device.keyring,
    outbox: new Outbox(),
    partnerId: device.partnerId,
    openSocket: () => socket,
    reconnectDelay: () => null,
  });
  providers.push(provider);
  return { provider, socket };
}

function backlogOf(space: Space): ServerMessage {
  const entries = space.log.entries.map((envelope, i) => ({ seq: i + 1, envelope }));
  return { type: SealedMessage.backlog, head: entries.length, last: true, entries };
}

/** Stores what the device submitted last and acks it, as the server would. */
function store(space: Space, socket: FakeSocket): number {
  const envelope = socket.submitted().at(-1)!;
  const { stream, counter } = decodeEnvelope(envelope);
  const seq = space.log.append(envelope);
  socket.serve({ type: SealedMessage.ack, stream, counter, seq });
  return seq;
}

const linkTo = (d: DeviceIdentity) =>
  encodeLinkPayload({
    partnerId: ALEX,
    signingKey: d.signing.publicKey,
    agreementKey: d.agreement.publicKey,
  });

describe('SealedProvider and link statements', () => {
  it('seals a keys statement into its stream and resolves with its seq once the replica took it in', async () => {
    const { space, alex } = createdAndJoined();
    const device = new Device(space, ALEX, alex.identity);
    const { provider, socket } = providerFor(device);
    socket.open();
    socket.serve(backlogOf(space));
    const phone = newDeviceIdentity();
    const stored = provider.submitKeys(linkTo(phone));
    const sent = decodeEnvelope(socket.submitted().at(-1)!);
    expect([sent.kind, sent.stream, sent.counter]).toEqual([
      EnvelopeKind.keys,
      provider.doc.clientID,
      1,
    ]);
    expect(provider.waiting).toBe(1);
    const seq = store(space, socket);
    await expect(stored).resolves.toBe(seq);
    expect(device.replica.linkFor(phone.signing.publicKey)?.seq).toBe(seq);
    expect(provider.waiting).toBe(0);
  });

  it('rejects when the log sets the statement aside, and when the provider closes first', async () => {
    const { space } = createdAndJoined();
    // A device that is no member: every device sets its link aside, its own replica too.
    const outsider = new Device(space, ALEX);
    const { provider, socket } = providerFor(outsider);
    socket.open();
    socket.serve(backlogOf(space));
    const refused = provider.submitKeys(linkTo(newDeviceIdentity()));
    store(space, socket);
    await expect(refused).rejects.toMatchObject({ reason: 'set-aside' });

    const pending = provider.submitKeys(linkTo(newDeviceIdentity()));
    provider.destroy();
    await expect(pending).rejects.toBeInstanceOf(KeysNotStoredError);
    await expect(pending).rejects.toMatchObject({ reason: 'closed' });
  });

  it('a linked device announces itself only once its log holds the link, then once', async () => {
    const { space, alex } = createdAndJoined();
    const phone = new Device(space, ALEX);
    const { provider, socket } = providerFor(phone);
    socket.open();
    socket.serve(backlogOf(space));
    await provider.taken();
    // The seat has a device and no link names this one: a statement now would be set aside.
    expect(socket.submitted()).toEqual([]);

    const linkSeq = alex.link(phone.identity);
    socket.serve({
      type: SealedMessage.envelope,
      seq: linkSeq,
      envelope: space.log.entries[linkSeq - 1]!,
    });
    await provider.taken();
    const [member, ...rest] = socket.submitted().map((b) => decodeEnvelope(b));
    expect(rest).toEqual([]);
    expect(member?.kind).toBe(EnvelopeKind.member);
    const seq = store(space, socket);
    expect(phone.replica.partnerOf(phone.identity.signing.publicKey)).toBe(ALEX);
    expect(phone.replica.devices().at(-1)).toMatchObject({
      seq,
      linkedBy: alex.replica.devices()[0]?.signingKey,
    });

    alex.sync();
    expect(alex.replica.setAside).toEqual([]);
    expect(alex.replica.partnerOf(phone.identity.signing.publicKey)).toBe(ALEX);
  });

  it('a linked device whose first backlog holds the link announces at once', async () => {
    const { space, alex } = createdAndJoined();
    const phone = new Device(space, ALEX);
    alex.link(phone.identity);
    const { provider, socket } = providerFor(phone);
    socket.open();
    socket.serve(backlogOf(space));
    await provider.taken();
    expect(socket.submitted().map((b) => decodeEnvelope(b).kind)).toEqual([EnvelopeKind.member]);
  });
});
