import { afterEach, describe, expect, it } from 'vitest';
import { Awareness } from 'y-protocols/awareness';
import { newDeviceIdentity } from '../identity.js';
import { PresenceChannel } from './PresenceChannel.js';
import {
  createdAndJoined,
  linkedDevice,
  presenceByHand,
  type Device,
} from './testing/sealedSpace.js';

const awarenesses: Awareness[] = [];

afterEach(() => {
  for (const awareness of awarenesses.splice(0)) awareness.destroy();
});

function channelOf(device: Device): { channel: PresenceChannel; awareness: Awareness } {
  const awareness = new Awareness(device.doc);
  awarenesses.push(awareness);
  const channel = new PresenceChannel({
    awareness,
    identity: device.identity,
    keyring: device.keyring,
    replica: device.replica,
  });
  return { channel, awareness };
}

describe('PresenceChannel', () => {
  it('shows a member device’s state for its own stream, and only a newer one after it', async () => {
    const { alex, sam } = createdAndJoined();
    const atAlex = channelOf(alex);
    const atSam = channelOf(sam);
    const stream = sam.doc.clientID;
    const sealed = (): Promise<Uint8Array> =>
      new Promise((resolve) => atSam.channel.seal(stream, resolve));
    atSam.awareness.setLocalStateField('user', { name: 'Sam' });
    const first = await sealed();
    atSam.awareness.setLocalStateField('user', { name: 'Sam, typing' });
    const second = await sealed();
    atAlex.channel.take(second, alex.doc.clientID);
    atAlex.channel.take(first, alex.doc.clientID);
    expect(atAlex.awareness.getStates().get(stream)).toEqual({ user: { name: 'Sam, typing' } });
  });

  it('ignores presence from a device removed from the space', () => {
    const { alex, sam } = createdAndJoined();
    const phone = linkedDevice(alex);
    alex.sync();
    sam.sync();
    const atSam = channelOf(sam);
    const stream = phone.doc.clientID;
    const before = presenceByHand(phone, stream, 1, '{"user":{"name":"Phone"}}');
    atSam.channel.take(before, sam.doc.clientID);
    expect(atSam.awareness.getStates().get(stream)).toEqual({ user: { name: 'Phone' } });
    alex.newEpoch([phone.identity]);
    sam.sync();
    atSam.channel.take(
      presenceByHand(phone, stream, 2, '{"user":{"name":"Stolen"}}'),
      sam.doc.clientID,
    );
    expect(atSam.awareness.getStates().get(stream)).toEqual({ user: { name: 'Phone' } });
  });

  it('ignores presence from a stranger, for another device’s stream, or that does not parse', () => {
    const { alex, sam } = createdAndJoined();
    const atAlex = channelOf(alex);
    const stranger = { identity: newDeviceIdentity(), keyring: sam.keyring };
    const own = alex.doc.clientID;
    expect(() => {
      atAlex.channel.take(presenceByHand(stranger, 77, 1, '{"user":1}'), own);
      atAlex.channel.take(presenceByHand(sam, own, 1, '{"user":2}'), own);
      atAlex.channel.take(presenceByHand(sam, sam.doc.clientID, 1, '{not json'), own);
      atAlex.channel.take(new Uint8Array([1, 3, 0]), own);
    }).not.toThrow();
    expect([...atAlex.awareness.getStates().keys()]).toEqual([atAlex.awareness.clientID]);
  });

  it('takes a state away when its stream leaves, and all others when this device loses its socket', () => {
    const { alex, sam } = createdAndJoined();
    const atAlex = channelOf(alex);
    const own = alex.doc.clientID;
    atAlex.channel.take(presenceByHand(sam, sam.doc.clientID, 1, '{"user":"Sam"}'), own);
    expect(atAlex.awareness.getStates().has(sam.doc.clientID)).toBe(true);
    atAlex.channel.left(sam.doc.clientID);
    expect(atAlex.awareness.getStates().has(sam.doc.clientID)).toBe(false);

    atAlex.channel.take(presenceByHand(sam, sam.doc.clientID, 2, '{"user":"Sam"}'), own);
    atAlex.channel.left(atAlex.awareness.clientID);
    atAlex.channel.forgetOthers();
    expect([...atAlex.awareness.getStates().keys()]).toEqual([atAlex.awareness.clientID]);
  });
  it('shows presence that came before its device was a member here once the replica takes it in', () => {
    const { alex, sam } = createdAndJoined();
    const atAlex = channelOf(alex);
    const own = alex.doc.clientID;
    // Sam's new phone speaks before Alex has taken in the link and member statements.
    const phone = linkedDevice(sam);
    const stream = phone.doc.clientID;
    atAlex.channel.take(presenceByHand(phone, stream, 2, '{"user":"Phone"}'), own);
    atAlex.channel.take(presenceByHand(phone, stream, 1, '{"user":"older"}'), own);
    atAlex.channel.retry();
    expect(atAlex.awareness.getStates().has(stream)).toBe(false);
    alex.sync();
    atAlex.channel.retry();
    expect(atAlex.awareness.getStates().get(stream)).toEqual({ user: 'Phone' });
  });

  it('lets waiting presence go when its stream leaves or the socket is lost', () => {
    const { alex, sam } = createdAndJoined();
    const atAlex = channelOf(alex);
    const own = alex.doc.clientID;
    const phone = linkedDevice(sam);
    const laptop = linkedDevice(sam);
    atAlex.channel.take(presenceByHand(phone, phone.doc.clientID, 1, '{"user":"Phone"}'), own);
    atAlex.channel.left(phone.doc.clientID);
    alex.sync();
    atAlex.channel.retry();
    expect(atAlex.awareness.getStates().has(phone.doc.clientID)).toBe(false);

    const later = linkedDevice(laptop);
    atAlex.channel.take(presenceByHand(later, later.doc.clientID, 1, '{"user":"Later"}'), own);
    atAlex.channel.forgetOthers();
    alex.sync();
    atAlex.channel.retry();
    expect(atAlex.awareness.getStates().has(later.doc.clientID)).toBe(false);
  });

  it('keeps waiting presence of a few streams only, dropping the oldest', () => {
    const { alex, sam } = createdAndJoined();
    const atAlex = channelOf(alex);
    const own = alex.doc.clientID;
    const phone = linkedDevice(sam);
    for (let stream = 1; stream <= 10; stream++) {
      atAlex.channel.take(presenceByHand(phone, stream, 1, `{"user":${stream}}`), own);
    }
    alex.sync();
    atAlex.channel.retry();
    const shown = [...atAlex.awareness.getStates().keys()].filter((id) => id !== own);
    expect(shown).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
