import { checkIn, listCheckins, type IsoDate } from '@mend/model';
import { keepCheckinPrivate, newSeatSecret, type SeatSecret } from '@mend/sealed';
import { describe, expect, it } from 'vitest';
import { OwnCheckins } from './ownCheckins.svelte.js';
import type { SpaceConnection } from './sync/SpaceConnection.svelte.js';
import { until } from './sync/testing.svelte.js';
import { ALEX, SAM, pairSpace } from './testPair.js';

const at = Date.UTC(2026, 10, 20, 20, 0);
const SPACE = 'space_0123456789abcdef';
const DAY = '2026-11-20' as IsoDate;

/** The little of a connection OwnCheckins reads, its seat arriving when the sealed client has. */
function connection(seatSecret: SeatSecret | null) {
  const c = $state({ spaceId: SPACE, seatSecret, keysMissing: false });
  return c as unknown as SpaceConnection & typeof c;
}

function space(alexSeat: SeatSecret) {
  const doc = pairSpace(at);
  keepCheckinPrivate(doc, {
    seatSecret: alexSeat,
    spaceId: SPACE,
    partnerId: ALEX,
    date: DAY,
    safety: 2,
    state: 'freeze',
    note: 'Only mine.',
    scope: 'checkin',
    at,
  });
  checkIn(doc, { partnerId: SAM, date: DAY, safety: 7, state: 'calm', note: 'Shared.', at });
  const [alex, sam] = listCheckins(doc);
  return { alex: alex!, sam: sam! };
}

describe("a partner's own check-ins as they read them", () => {
  it('opens what they kept private once the sealing has loaded and the seat is on this device', async () => {
    const seat = newSeatSecret();
    const { alex, sam } = space(seat);
    const conn = connection(null);
    const own = new OwnCheckins(conn);
    // An open check-in needs no sealing; a private one waits for it and for the seat.
    expect(own.read(sam)).toEqual({ safety: 7, state: 'calm', note: 'Shared.', private: null });
    expect(own.read(alex)).toBeUndefined();
    conn.seatSecret = seat;
    await until(() => own.read(alex) !== undefined);
    expect(own.read(alex)).toEqual({
      safety: 2,
      state: 'freeze',
      note: 'Only mine.',
      private: 'checkin',
    });
  });

  it('reads as not opening (null) with another seat, and when the device lost its keys', async () => {
    const { alex } = space(newSeatSecret());
    const other = connection(newSeatSecret());
    const own = new OwnCheckins(other);
    own.read(alex);
    await until(() => own.read(alex) !== undefined);
    expect(own.read(alex)).toBeNull();
    const lost = connection(null);
    lost.keysMissing = true;
    expect(new OwnCheckins(lost).read(alex)).toBeNull();
  });
});
