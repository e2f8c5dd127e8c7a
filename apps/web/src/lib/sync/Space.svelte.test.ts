import { addPartner, initSpace, roots, type PartnerId } from '@mend/model';
import type { SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { memoryStorage } from './memoryStorage.js';
import { Space } from './Space.svelte.js';

const alex = 'partner_alex_0000000' as PartnerId;
const sam = 'partner_sam_00000000' as PartnerId;

function openSpace(): Space {
  return new Space({
    spaceId: 'space_for_space_test' as SpaceId,
    partnerId: alex,
    displayName: 'Alex',
    connect: false,
    persist: false,
    storage: memoryStorage(),
  });
}

describe('the open space', () => {
  it('names the partner, and says "your partner" before they join', () => {
    const space = openSpace();
    const doc = space.connection.doc;
    initSpace(doc, { name: 'Us', createdAt: 1 });
    addPartner(doc, { id: alex, displayName: 'Alex', joinedAt: 1, color: '#336699' });
    expect(space.partnerName).toBe('your partner');
    expect(space.PartnerName).toBe('Your partner');

    addPartner(doc, { id: sam, displayName: 'Sam', joinedAt: 2, color: '#993366' });
    expect(space.partner?.displayName).toBe('Sam');
    expect(space.nameOf(alex)).toBe('You');
    expect(space.nameOf(sam)).toBe('Sam');
    space.destroy();
  });

  it('never lets a colour written by a hostile peer into a style attribute', () => {
    const space = openSpace();
    const doc = space.connection.doc;
    initSpace(doc, { name: 'Us', createdAt: 1 });
    addPartner(doc, { id: alex, displayName: 'Alex', joinedAt: 1, color: '#336699' });
    addPartner(doc, { id: sam, displayName: 'Sam', joinedAt: 2, color: '#993366' });
    // Written around the model, as a modified client could.
    roots(doc).partners.get(sam)!.set('color', 'red; background: url(https://evil.example/x)');

    expect(space.partner?.color).toBe('#5b7f95');
    expect(space.myself?.color).toBe('#336699');
    space.destroy();
  });
});
