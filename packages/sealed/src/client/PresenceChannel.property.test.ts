import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Awareness } from 'y-protocols/awareness';
import { PresenceChannel } from './PresenceChannel.js';
import { createdAndJoined, Device, linkedDevice, presenceByHand } from './testing/sealedSpace.js';

/**
 * Presence arrives in any order, and some of it before the statements that make its device a
 * member here (docs/protocol.md, "Payloads"): whenever the replica takes those in, each device
 * shows the newest state it said, the same as if everything had come after them in order.
 */

describe('PresenceChannel, any arrival order', () => {
  it('shows each device’s newest state, whether its presence came before it was a member or after', () => {
    const { space, alex, sam } = createdAndJoined();
    const beforePhone = space.log.entries.length;
    const phone = linkedDevice(sam);
    // Sealed once: every run takes the same envelopes, in its own order.
    const said = [sam, phone].map((device) =>
      Array.from({ length: 6 }, (_, i) => ({
        device,
        counter: i + 1,
        bytes: presenceByHand(
          device,
          device.doc.clientID,
          i + 1,
          JSON.stringify({ user: { at: i + 1 } }),
        ),
      })),
    );
    const all = said.flat();
    fc.assert(
      fc.property(
        // Indices into `all`, so a counterexample reads as a list of numbers.
        fc.shuffledSubarray([...all.keys()], { minLength: 1 }),
        fc.nat(),
        (order, syncAt) => {
          const arrived = order.map((i) => all[i]!);
          const at = new Device(space, alex.partnerId, alex.identity);
          const takeIn = (to: number) => {
            for (let seq = at.replica.since + 1; seq <= to; seq++) {
              at.replica.receive(seq, space.log.entries[seq - 1]!);
            }
          };
          // Alex's device has taken in the log up to Sam's phone: not a member here yet.
          takeIn(beforePhone);
          const awareness = new Awareness(at.doc);
          const channel = new PresenceChannel({
            awareness,
            identity: at.identity,
            keyring: at.keyring,
            replica: at.replica,
          });
          // The phone's link and member statements come in somewhere among its presence.
          const when = syncAt % (arrived.length + 1);
          arrived.forEach((p, i) => {
            if (i === when) {
              takeIn(space.log.entries.length);
              channel.retry();
            }
            channel.take(p.bytes, at.doc.clientID);
          });
          takeIn(space.log.entries.length);
          channel.retry();
          for (const device of [sam, phone]) {
            const newest = Math.max(
              0,
              ...arrived.filter((p) => p.device === device).map((p) => p.counter),
            );
            const shown = awareness.getStates().get(device.doc.clientID);
            expect(shown ?? null).toEqual(newest === 0 ? null : { user: { at: newest } });
          }
          awareness.destroy();
        },
      ),
      { numRuns: 60 },
    );
  });
});
