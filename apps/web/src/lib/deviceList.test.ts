import { describe, expect, it } from 'vitest';
import { seatDevices } from './deviceList';
import type { LoggedDevice } from './deviceNotices';
import type { LastSeen } from './deviceSeen';

const ALEX = 'partner-alex';
const devices = [
  { signingKey: 'phone', partnerId: ALEX, linkedBy: null },
  { signingKey: 'laptop', partnerId: ALEX, linkedBy: 'phone' },
  { signingKey: 'tablet', partnerId: ALEX, linkedBy: 'laptop' },
  { signingKey: 'sam', partnerId: 'partner-sam', linkedBy: null },
];
const ADDED = '2026-12-01T10:00:00.000Z';

describe('a seat’s devices on the devices page', () => {
  it('are named as the document names them in that seat, else in the usual words', () => {
    const names = new Map([
      ['laptop', { partnerId: ALEX, name: "Alex's laptop", addedAt: ADDED }],
      ['tablet', { partnerId: 'partner-sam', name: 'Forged', addedAt: ADDED }],
    ]);
    const now = Date.parse(ADDED) + 5 * 60_000;
    const list = seatDevices({
      devices,
      partnerId: ALEX,
      partnerName: 'Alex',
      thisDevice: 'sam',
      names,
      lastSeen: new Map([['laptop', now - 5 * 60_000]]),
      now,
    });
    expect(list.map((d) => d.label)).toEqual(['The first device', "Alex's laptop", 'Device 3']);
    expect(list[0]!.details).toEqual(['the one Alex first opened the space on']);
    expect(list[1]!.details[0]).toBe('added with a link from the first device');
    expect(list[1]!.details[1]).toMatch(/^added /);
    expect(list[1]!.details[2]).toBe('last seen 5 minutes ago');
    expect(list[2]!.details).toEqual(["added with a link from Alex's laptop"]);
    expect(list.every((d) => !d.isThis && d.badge === null)).toBe(true);
  });

  it('say which is this device, and never when this device was last seen', () => {
    const named = new Map([['laptop', { partnerId: ALEX, name: 'Work', addedAt: ADDED }]]);
    const mine = seatDevices({
      devices,
      partnerId: ALEX,
      partnerName: null,
      thisDevice: 'laptop',
      names: named,
      lastSeen: new Map([
        ['laptop', 1],
        ['phone', 1],
      ]),
    });
    expect(mine[0]!.details[0]).toBe('the one you first opened the space on');
    expect(mine[0]!.details.some((d) => d.startsWith('last seen'))).toBe(true);
    expect(mine[1]).toMatchObject({ label: 'Work', isThis: true, badge: 'This device' });
    expect(mine[1]!.details.some((d) => d.startsWith('last seen'))).toBe(false);
    const unnamed = seatDevices({
      ...{ devices, partnerId: ALEX, partnerName: null },
      thisDevice: 'laptop',
      names: new Map(),
      lastSeen: null,
    });
    expect(unnamed[1]).toMatchObject({ label: 'This device', badge: null });
  });
});

describe('removed devices and recovery kits on the devices page', () => {
  /** Alex's seat as this phone lists it, the laptop removed by `removedBy`, and `more`. */
  const alexsSeat = (
    removedBy: string,
    more: LoggedDevice[] = [],
    lastSeen: LastSeen | null = null,
  ) =>
    seatDevices({
      devices: [
        { signingKey: 'phone', partnerId: ALEX, linkedBy: null },
        { signingKey: 'laptop', partnerId: ALEX, linkedBy: 'phone', removed: true, removedBy },
        ...more,
      ],
      partnerId: ALEX,
      partnerName: null,
      otherName: 'Sam',
      thisDevice: 'phone',
      names: new Map(),
      lastSeen,
    });

  it('lists a removed device as removed (by whom, when it was the other seat), and leaves the kit to its own section', () => {
    const list = alexsSeat(
      'sam',
      [
        { signingKey: 'kit', partnerId: ALEX, linkedBy: 'phone', recovery: true },
        { signingKey: 'new', partnerId: ALEX, linkedBy: 'kit' },
        { signingKey: 'sam', partnerId: 'partner-sam', linkedBy: null },
      ],
      new Map([['laptop', 1]]),
    );
    expect(list.map((d) => d.key)).toEqual(['phone', 'laptop', 'new']);
    expect(list[1]).toMatchObject({ removed: true, badge: 'Removed' });
    expect(list[1]!.details).toEqual(['added with a link from this device', 'removed by Sam']);
    expect(list[2]!.details).toEqual(['added with the recovery kit']);
    expect(list[0]!.removed).toBe(false);
  });

  it('lists a device Mend was removed from (it left on its own) as left', () => {
    const list = alexsSeat('laptop');
    expect(list[1]).toMatchObject({ removed: true, badge: 'Left' });
    expect(list[1]!.details).toEqual([
      'added with a link from this device',
      'Mend was removed from it',
    ]);
  });
});
