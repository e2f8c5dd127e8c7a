import { addPartner, initSpace, readDeviceNames, type PartnerId } from '@mend/model';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { defaultDeviceName, deviceArrived, deviceKind } from './deviceNames';
import { readNoticeMemory } from './deviceNotices';
import { memoryStorage } from './sync/memoryStorage';

const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const PIXEL =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36';
const GALAXY_TAB =
  'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const IPAD =
  'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

const A = 'partnerAAAAAAAAAAAAA' as PartnerId;
const KEY = 'k'.repeat(42) + 'A';

describe('a new device’s name', () => {
  it('says in a word what the device is, with its owner’s name when it fits', () => {
    expect([IPHONE, PIXEL, GALAXY_TAB, IPAD, MAC].map(deviceKind)).toEqual([
      'phone',
      'phone',
      'tablet',
      'tablet',
      'computer',
    ]);
    expect(defaultDeviceName(IPHONE, 'Alex')).toBe("Alex's phone");
    expect(defaultDeviceName(MAC, ' Sam ')).toBe("Sam's computer");
    expect(defaultDeviceName(IPAD, 'x'.repeat(40))).toBe('Tablet');
    expect(defaultDeviceName(MAC, '')).toBe('Computer');
  });

  it('is written once the device’s seat is in the document, and the devices there then are remembered', () => {
    const doc = new Y.Doc();
    initSpace(doc, { name: 'Ours', createdAt: 1 });
    const storage = memoryStorage();
    const devices = { list: [{ signingKey: KEY, partnerId: A, linkedBy: null }], mine: KEY };
    const space = { spaceId: 'space-1', me: A, connection: { doc, devices } };
    const options = { userAgent: IPHONE, storage, now: Date.UTC(2026, 11, 1) };
    // No seat yet: nothing written, to be tried again.
    expect(deviceArrived(space, options)).toBe(false);
    expect(readNoticeMemory(storage, 'space-1')?.known).toEqual([KEY]);
    addPartner(doc, { id: A, displayName: 'Alex', joinedAt: 1, color: '#aa3355' });
    expect(deviceArrived(space, options)).toBe(true);
    expect(readDeviceNames(doc).get(KEY)).toEqual({
      partnerId: A,
      name: "Alex's phone",
      addedAt: '2026-12-01T00:00:00.000Z',
    });
    // Named already (here or renamed elsewhere): nothing more is written.
    const updates: Uint8Array[] = [];
    doc.on('update', (u: Uint8Array) => updates.push(u));
    expect(deviceArrived(space, { ...options, userAgent: MAC })).toBe(true);
    expect(updates).toEqual([]);
  });
});
