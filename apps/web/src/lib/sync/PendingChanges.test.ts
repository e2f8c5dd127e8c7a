import { describe, expect, it } from 'vitest';
import { editSession } from './editSession.js';
import { memoryStorage } from './memoryStorage.js';
import { PendingChanges } from './PendingChanges.js';

describe('changes not sent yet', () => {
  it("count a field's edit session once, however many keystrokes it took", () => {
    const pending = new PendingChanges('space', memoryStorage());
    const typing = editSession.begin();
    for (let key = 0; key < 16; key++) pending.add();
    expect(pending.count).toBe(1);
    editSession.end(typing);

    // Another field, then a button (no field): each is one more change.
    const other = editSession.begin();
    pending.add();
    pending.add();
    editSession.end(other);
    pending.add();
    expect(pending.count).toBe(3);
  });

  it('start counting afresh once sent, and survive a reload', () => {
    const storage = memoryStorage();
    const pending = new PendingChanges('space', storage);
    const typing = editSession.begin();
    pending.add();
    pending.clear();
    pending.add();
    editSession.end(typing);
    expect(pending.count).toBe(1);
    expect(new PendingChanges('space', storage).count).toBe(1);
  });
});
