import { describe, expect, it } from 'vitest';
import {
  dayWords,
  deviceNotices,
  dismissDeviceNotice,
  noticeMemoryKey,
  noticeSentence,
  readNoticeMemory,
  rememberFirstSight,
  type LoggedDevice,
  type NamedDevice,
} from './deviceNotices';
import { memoryStorage } from './sync/memoryStorage';

const SPACE = 'space-1234567890abcdef';
const ALEX = 'partner-alex';
const SAM = 'partner-sam';
const phone: LoggedDevice = { signingKey: 'alex-phone', partnerId: ALEX, linkedBy: null };
const samPhone: LoggedDevice = { signingKey: 'sam-phone', partnerId: SAM, linkedBy: null };
const laptop: LoggedDevice = { signingKey: 'alex-laptop', partnerId: ALEX, linkedBy: 'alex-phone' };
const TUESDAY = new Date(2026, 11, 1, 20, 0).toISOString();
const names = new Map<string, NamedDevice>([
  ['alex-laptop', { partnerId: ALEX, name: "Alex's laptop", addedAt: TUESDAY }],
]);

function seenAtFirst(devices: readonly LoggedDevice[]) {
  const storage = memoryStorage();
  rememberFirstSight(storage, SPACE, devices);
  return storage;
}

describe('device notices on Today', () => {
  it('announce a device the partner added after this device first saw the space, with its name and day', () => {
    const storage = seenAtFirst([phone, samPhone]);
    const notices = deviceNotices({
      devices: [phone, samPhone, laptop],
      names,
      memory: readNoticeMemory(storage, SPACE),
      thisDevice: 'sam-phone',
    });
    expect(notices).toEqual([
      {
        id: 'added:alex-laptop',
        kind: 'added',
        device: 'alex-laptop',
        partnerId: ALEX,
        owner: ALEX,
        what: 'device',
        name: "Alex's laptop",
        addedAt: TUESDAY,
      },
    ]);
    const friday = new Date(2026, 11, 4, 9).getTime();
    expect(noticeSentence(notices[0]!, 'Alex', friday)).toMatch(
      /^Alex added a device \(Alex's laptop\) on \w+day\.$/,
    );
  });

  it('never announce what was there at first sight, a seat’s first device, this device, or one it linked itself', () => {
    const storage = seenAtFirst([phone, samPhone, laptop]);
    const memory = readNoticeMemory(storage, SPACE);
    const joined: LoggedDevice = { signingKey: 'kim', partnerId: SAM, linkedBy: null };
    const all = [phone, samPhone, laptop, joined];
    expect(deviceNotices({ devices: all, names, memory, thisDevice: 'sam-phone' })).toEqual([]);
    // Without a memory (not yet synced once), nothing: every device might be an old one.
    expect(deviceNotices({ devices: all, names, memory: null, thisDevice: 'sam-phone' })).toEqual(
      [],
    );
    const early = readNoticeMemory(seenAtFirst([phone, samPhone]), SPACE);
    expect(deviceNotices({ devices: all, names, memory: early, thisDevice: 'alex-phone' })).toEqual(
      [],
    );
    expect(
      deviceNotices({ devices: all, names, memory: early, thisDevice: 'alex-laptop' }),
    ).toEqual([]);
    // Alex's other device sees it, as "You".
    const other: LoggedDevice = { signingKey: 'alex-tablet', partnerId: ALEX, linkedBy: null };
    expect(
      deviceNotices({ devices: [...all, other], names, memory: early, thisDevice: 'alex-tablet' }),
    ).toHaveLength(1);
  });

  it('say who removed a device (the partner, in an emergency), and speak of recovery kits as kits', () => {
    const storage = seenAtFirst([phone, samPhone, laptop]);
    const kit: LoggedDevice = {
      signingKey: 'alex-kit',
      partnerId: ALEX,
      linkedBy: 'alex-phone',
      recovery: true,
    };
    const restored: LoggedDevice = {
      signingKey: 'alex-new',
      partnerId: ALEX,
      linkedBy: 'alex-kit',
    };
    const devices = [
      phone,
      samPhone,
      { ...laptop, removed: true, removedBy: 'sam-phone' },
      kit,
      restored,
    ];
    const memory = readNoticeMemory(storage, SPACE);
    // On Alex's phone: Sam removed one of Alex's devices; the kit Alex made there is not news.
    const onPhone = deviceNotices({ devices, names, memory, thisDevice: 'alex-phone' });
    expect(onPhone.map((n) => [n.id, n.partnerId, n.owner, n.what])).toEqual([
      ['removed:alex-laptop', SAM, ALEX, 'device'],
      ['added:alex-new', ALEX, ALEX, 'by-kit'],
    ]);
    expect(noticeSentence(onPhone[0]!, 'Sam', Date.now(), 'You')).toBe(
      "Sam removed one of your devices (Alex's laptop).",
    );
    expect(noticeSentence(onPhone[1]!, 'You', Date.now(), 'You')).toBe(
      'You used your recovery kit on a new device.',
    );
    // On Sam's phone: the kit and the device it brought in are announced; Sam's own removal is not.
    const onSam = deviceNotices({ devices, names, memory, thisDevice: 'sam-phone' });
    expect(onSam.map((n) => [n.id, n.what])).toEqual([
      ['added:alex-kit', 'kit'],
      ['added:alex-new', 'by-kit'],
    ]);
    expect(noticeSentence(onSam[0]!, 'Alex')).toBe('Alex made a recovery kit.');
    expect(noticeSentence(onSam[1]!, 'Alex')).toBe('Alex used their recovery kit on a new device.');
    const gone = deviceNotices({
      devices: [phone, samPhone, { ...kit, removed: true, removedBy: 'alex-phone' }],
      names,
      memory: readNoticeMemory(seenAtFirst([phone, samPhone, kit]), SPACE),
      thisDevice: 'sam-phone',
    });
    expect(noticeSentence(gone[0]!, 'Alex')).toBe('Alex removed their recovery kit.');
  });

  it('say that Mend was removed from a device that left on its own, on both seats', () => {
    const memory = readNoticeMemory(seenAtFirst([phone, samPhone, laptop]), SPACE);
    const devices = [phone, samPhone, { ...laptop, removed: true, removedBy: 'alex-laptop' }];
    const onSam = deviceNotices({ devices, names, memory, thisDevice: 'sam-phone' });
    expect(onSam.map((n) => [n.id, n.kind, n.partnerId])).toEqual([
      ['removed:alex-laptop', 'left', ALEX],
    ]);
    expect(noticeSentence(onSam[0]!, 'Alex')).toBe(
      "Alex removed Mend from a device (Alex's laptop).",
    );
    const onPhone = deviceNotices({ devices, names, memory, thisDevice: 'alex-phone' });
    expect(noticeSentence(onPhone[0]!, 'You', Date.now(), 'You')).toBe(
      "You removed Mend from a device (Alex's laptop).",
    );
  });

  it('announce a removed device, without a date, once per removal', () => {
    const storage = seenAtFirst([
      phone,
      samPhone,
      laptop,
      { ...phone, signingKey: 'gone', removed: true },
    ]);
    const memory = readNoticeMemory(storage, SPACE);
    const devices = [
      phone,
      samPhone,
      { ...laptop, removed: true },
      { ...phone, signingKey: 'gone', removed: true },
    ];
    const notices = deviceNotices({ devices, names, memory, thisDevice: 'sam-phone' });
    expect(notices.map((n) => n.id)).toEqual(['removed:alex-laptop']);
    expect(noticeSentence(notices[0]!, 'Alex')).toBe("Alex removed a device (Alex's laptop).");
  });

  it('show a name only in the seat the log puts the device in, and no day without one', () => {
    const storage = seenAtFirst([phone, samPhone]);
    const forged = new Map<string, NamedDevice>([
      ['alex-laptop', { partnerId: SAM, name: 'Not Alex', addedAt: TUESDAY }],
    ]);
    const [notice] = deviceNotices({
      devices: [phone, samPhone, laptop],
      names: forged,
      memory: readNoticeMemory(storage, SPACE),
      thisDevice: 'sam-phone',
    });
    expect(notice).toMatchObject({ name: null, addedAt: null });
    expect(noticeSentence(notice!, 'Alex')).toBe('Alex added a device.');
  });

  it('stay dismissed once seen, keep the first memory, and live under a key naming the space', () => {
    const storage = seenAtFirst([phone, samPhone]);
    rememberFirstSight(storage, SPACE, [phone, samPhone, laptop]);
    expect(readNoticeMemory(storage, SPACE)?.known).toEqual(['alex-phone', 'sam-phone']);
    dismissDeviceNotice(storage, SPACE, 'added:alex-laptop');
    dismissDeviceNotice(storage, SPACE, 'added:alex-laptop');
    const memory = readNoticeMemory(storage, SPACE);
    expect(memory?.dismissed).toEqual(['added:alex-laptop']);
    expect(
      deviceNotices({ devices: [phone, samPhone, laptop], names, memory, thisDevice: 'sam-phone' }),
    ).toEqual([]);
    expect(noticeMemoryKey(SPACE)).toContain(SPACE);
    storage.setItem(noticeMemoryKey(SPACE), '{"known":"x"}');
    expect(readNoticeMemory(storage, SPACE)).toBeNull();
    storage.setItem(noticeMemoryKey(SPACE), 'not json');
    expect(readNoticeMemory(storage, SPACE)).toBeNull();
  });

  it('say the day as a person would', () => {
    const now = new Date(2026, 11, 4, 9).getTime();
    const at = (days: number) => now - days * 86_400_000;
    expect(dayWords(at(0), now, 'en-US')).toBe('today');
    expect(dayWords(at(1), now, 'en-US')).toBe('yesterday');
    expect(dayWords(new Date(2026, 11, 1, 20).getTime(), now, 'en-US')).toBe('on Tuesday');
    expect(dayWords(new Date(2026, 10, 20).getTime(), now, 'en-US')).toBe('on Nov 20, 2026');
    // A clock ahead of this one reads as today.
    expect(dayWords(now + 3_600_000, now, 'en-US')).toBe('today');
  });
});

describe('a partner brought back', () => {
  it('is announced as the other partner bringing them back', () => {
    const storage = seenAtFirst([phone, samPhone]);
    const back: LoggedDevice = {
      signingKey: 'alex-new',
      partnerId: ALEX,
      linkedBy: 'sam-phone',
      returned: true,
    };
    const devices = [{ ...phone, removed: true, removedBy: 'sam-phone' }, samPhone, back];
    const onSamLaptop = deviceNotices({
      devices: [...devices, { signingKey: 'sam-laptop', partnerId: SAM, linkedBy: 'sam-phone' }],
      names,
      memory: readNoticeMemory(storage, SPACE),
      thisDevice: 'sam-laptop',
    });
    const notice = onSamLaptop.find((n) => n.id === 'added:alex-new')!;
    expect(notice).toMatchObject({ what: 'returned', partnerId: SAM, owner: ALEX });
    expect(noticeSentence(notice, 'You', Date.now(), 'Alex')).toBe(
      'You brought Alex back on a new device.',
    );
    expect(noticeSentence(notice, 'Sam', Date.now(), 'You')).toBe(
      'Sam brought you back on a new device.',
    );
  });
});
