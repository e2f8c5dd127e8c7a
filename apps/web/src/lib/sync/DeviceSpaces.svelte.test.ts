import type { PartnerId, SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { DEVICE_SPACES_KEY, DeviceSpaces } from './DeviceSpaces.svelte.js';
import { memoryStorage } from './memoryStorage.js';

const spaceId = 'space_id_abcdefghijk' as SpaceId;
const partnerId = 'partner_id_abcdefgh' as PartnerId;

describe('the spaces this device remembers', () => {
  it('remembers a space with the partner id and name, and never a token', () => {
    const storage = memoryStorage();
    const spaces = new DeviceSpaces(storage);
    spaces.remember({
      spaceId,
      partnerId,
      displayName: 'Alex',
      // A caller passing the whole create response must not get the token stored.
      ...({ token: 'secret-token-value' } as object),
    } as Parameters<typeof spaces.remember>[0]);

    expect(spaces.get(spaceId)?.displayName).toBe('Alex');
    expect(storage.getItem(DEVICE_SPACES_KEY)).not.toContain('secret-token-value');
  });

  it('forgets the invite code once asked to, keeping everything else', () => {
    const spaces = new DeviceSpaces(memoryStorage());
    spaces.remember({ spaceId, partnerId, displayName: 'Alex', inviteCode: 'code' });
    spaces.update(spaceId, { inviteCode: undefined, spaceName: 'Us' });
    expect(spaces.get(spaceId)).toMatchObject({ displayName: 'Alex', spaceName: 'Us' });
    expect(spaces.get(spaceId)?.inviteCode).toBeUndefined();
  });

  it('reads damaged storage as no spaces instead of failing', () => {
    const storage = memoryStorage();
    storage.setItem(DEVICE_SPACES_KEY, '{not json');
    expect(new DeviceSpaces(storage).current).toEqual([]);
    storage.setItem(DEVICE_SPACES_KEY, JSON.stringify([{ spaceId: 'x' }]));
    expect(new DeviceSpaces(storage).current).toEqual([]);
  });

  it('leaves out a damaged entry and keeps the others', () => {
    const storage = memoryStorage();
    const good = { spaceId, partnerId, displayName: 'Alex', addedAt: '2026-12-06T10:00:00Z' };
    storage.setItem(
      DEVICE_SPACES_KEY,
      JSON.stringify([
        { ...good, spaceId: 'not an id' },
        { ...good, sealed: 'yes' },
        { ...good, spaceName: 42 },
        { ...good, sealed: true, token: 'never kept' },
      ]),
    );
    expect(new DeviceSpaces(storage).current).toEqual([{ ...good, sealed: true }]);
  });
});
