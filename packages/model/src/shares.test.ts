import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ModelErrorCode } from './errors.js';
import { Origin } from './origin.js';
import { Feeling, Root } from './schema.js';
import {
  getShare,
  listShares,
  markShareHeard,
  saveShare,
  shareHistory,
  shareKey,
  sharesToHear,
  type SaveShareInput,
} from './shares.js';
import { roots } from './store.js';
import {
  A,
  B,
  T0,
  codeOf,
  originsOf,
  replicaOf,
  sync,
  twoPartnerSpace,
  updatesDuring,
} from './testing/fixtures.js';
import { todayFor } from './views.js';

const DAY = '2026-11-01';
const HOUR = 3_600_000;

function share(overrides: Partial<SaveShareInput> = {}): SaveShareInput {
  return {
    partnerId: A,
    date: DAY,
    feelings: [Feeling.tired, Feeling.hopeful],
    feelingWords: 'Worn out, but lighter than last week.',
    affirmation: 'You made tea without being asked.',
    needs: 'An early night.',
    ownership: 'I was short with you at dinner.',
    struggles: 'I nearly checked your phone.',
    at: T0,
    ...overrides,
  };
}

function heard(doc: Y.Doc, key = shareKey(DAY, A), by = B, at = T0 + HOUR): boolean {
  const fingerprint = listShares(doc).find((s) => s.key === key)!.fingerprint;
  return markShareHeard(doc, { shareKey: key, by, fingerprint, at });
}

describe('daily shares', () => {
  it('keeps one share per partner per day: a second save that day changes the same share', () => {
    const doc = twoPartnerSpace();
    const first = saveShare(doc, share());
    const second = saveShare(doc, share({ needs: 'A walk together.', at: T0 + HOUR }));
    expect(second).toBe(first);
    expect(listShares(doc)).toHaveLength(1);
    expect(getShare(doc, DAY, A)).toMatchObject({
      partnerId: A,
      needs: 'A walk together.',
      ownership: 'I was short with you at dinner.',
      createdAt: T0,
      updatedAt: T0 + HOUR,
      heard: null,
    });
  });

  it('stores the chosen feelings once each, in the list order, whatever order they came in', () => {
    const doc = twoPartnerSpace();
    saveShare(doc, share({ feelings: [Feeling.calm, Feeling.sad, Feeling.calm] }));
    expect(getShare(doc, DAY, A)!.feelings).toEqual([Feeling.sad, Feeling.calm]);
  });

  it('two devices of one partner writing the same day end with one share', () => {
    const phone = twoPartnerSpace();
    const laptop = replicaOf(phone);
    saveShare(phone, share({ needs: 'from the phone' }));
    saveShare(laptop, share({ needs: 'from the laptop', at: T0 + 1 }));
    sync(phone, laptop);
    expect(listShares(phone)).toHaveLength(1);
    expect(listShares(phone)).toEqual(listShares(laptop));
  });

  it('asks for a feeling, chosen or in words, and refuses one that is not on the list', () => {
    const doc = twoPartnerSpace();
    expect(codeOf(() => saveShare(doc, share({ feelings: [], feelingWords: '  ' })))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(
      codeOf(() => saveShare(doc, share({ feelings: ['furious' as Feeling], feelingWords: '' }))),
    ).toBe(ModelErrorCode.invalidArgument);
    expect(codeOf(() => saveShare(doc, share({ needs: 'x'.repeat(2001) })))).toBe(
      ModelErrorCode.invalidArgument,
    );
    saveShare(doc, share({ feelings: [], feelingWords: 'Hard to name.' }));
    expect(getShare(doc, DAY, A)!.feelingWords).toBe('Hard to name.');
  });

  it('is written for the day it is, and changed on that day only', () => {
    const doc = twoPartnerSpace();
    // 2026-11-01 ends at the latest 12 hours after midnight UTC (UTC-12).
    const nextDayEverywhere = Date.UTC(2026, 10, 2, 12, 0);
    expect(codeOf(() => saveShare(doc, share({ at: nextDayEverywhere })))).toBe(
      ModelErrorCode.invalidArgument,
    );
    saveShare(doc, share());
    expect(
      updatesDuring(doc, () => saveShare(doc, share({ needs: 'later', at: nextDayEverywhere }))),
    ).toEqual([]);
    expect(codeOf(() => saveShare(doc, share({ at: nextDayEverywhere })))).toBe(
      ModelErrorCode.notAllowed,
    );
    // Late evening in Hawaii is already the next day in UTC: still the same calendar day there.
    saveShare(doc, share({ needs: 'late', at: Date.UTC(2026, 10, 2, 9, 0) }));
    expect(getShare(doc, DAY, A)!.needs).toBe('late');
  });

  it('is one transaction with its own origin, and a refused save writes nothing', () => {
    const doc = twoPartnerSpace();
    expect(originsOf(doc, () => saveShare(doc, share()))).toEqual([Origin.saveShare]);
    expect(
      updatesDuring(doc, () =>
        saveShare(doc, share({ partnerId: 'nobodyNOBODYnobody' as typeof A })),
      ),
    ).toEqual([]);
  });

  it('takes "I heard you" only from the other partner, once, with its time', () => {
    const doc = twoPartnerSpace();
    const key = saveShare(doc, share());
    expect(codeOf(() => heard(doc, key, A))).toBe(ModelErrorCode.notAllowed);
    expect(originsOf(doc, () => expect(heard(doc, key)).toBe(true))).toEqual([
      Origin.markShareHeard,
    ]);
    expect(getShare(doc, DAY, A)!.heard).toEqual({ by: B, at: T0 + HOUR, ofCurrentWords: true });
    // A second tap, on this device or another that knows of the first, writes nothing.
    expect(updatesDuring(doc, () => expect(heard(doc, key, B, T0 + 2 * HOUR)).toBe(false))).toEqual(
      [],
    );
    expect(getShare(doc, DAY, A)!.heard!.at).toBe(T0 + HOUR);
  });

  it('refuses "I heard you" for words the listener was not shown', () => {
    const doc = twoPartnerSpace();
    const key = saveShare(doc, share());
    const shown = getShare(doc, DAY, A)!.fingerprint;
    saveShare(doc, share({ needs: 'Something else.', at: T0 + 1 }));
    expect(
      codeOf(() => markShareHeard(doc, { shareKey: key, by: B, fingerprint: shown, at: T0 + 2 })),
    ).toBe(ModelErrorCode.staleWording);
    expect(
      codeOf(() =>
        markShareHeard(doc, { shareKey: shareKey(DAY, B), by: A, fingerprint: shown, at: T0 }),
      ),
    ).toBe(ModelErrorCode.notFound);
  });

  it('keeps a heard share as it was said: its author cannot change it afterwards', () => {
    const doc = twoPartnerSpace();
    heard(doc, saveShare(doc, share()));
    expect(codeOf(() => saveShare(doc, share({ needs: 'changed', at: T0 + 2 * HOUR })))).toBe(
      ModelErrorCode.notAllowed,
    );
  });

  it('a change made before the mark arrived leaves the mark on the earlier words, to be heard again', () => {
    const author = twoPartnerSpace();
    saveShare(author, share());
    const listener = replicaOf(author);
    heard(listener);
    saveShare(author, share({ needs: 'Also: a hug.', at: T0 + 2 }));
    sync(author, listener);
    for (const doc of [author, listener]) {
      expect(getShare(doc, DAY, A)).toMatchObject({
        needs: 'Also: a hug.',
        heard: { by: B, ofCurrentWords: false },
      });
      expect(sharesToHear(doc, B).map((s) => s.key)).toEqual([shareKey(DAY, A)]);
    }
    expect(heard(listener, shareKey(DAY, A), B, T0 + 3 * HOUR)).toBe(true);
    expect(getShare(listener, DAY, A)!.heard).toEqual({
      by: B,
      at: T0 + 3 * HOUR,
      ofCurrentWords: true,
    });
  });

  it('lists what waits to be heard on Today, and the history by day, newest first', () => {
    const doc = twoPartnerSpace();
    saveShare(doc, share());
    saveShare(doc, share({ partnerId: B, date: '2026-11-02', at: T0 + 24 * HOUR }));
    saveShare(doc, share({ date: '2026-11-02', at: T0 + 24 * HOUR }));
    expect(todayFor(doc, { partnerId: B, date: '2026-11-02' })).toMatchObject({
      share: { partnerId: B, date: '2026-11-02' },
      sharesToHear: [shareKey(DAY, A), shareKey('2026-11-02', A)],
    });
    heard(doc);
    expect(todayFor(doc, { partnerId: B, date: '2026-11-02' }).sharesToHear).toEqual([
      shareKey('2026-11-02', A),
    ]);
    expect(todayFor(doc, { partnerId: A, date: '2026-11-02' }).sharesToHear).toEqual([
      shareKey('2026-11-02', B),
    ]);
    expect(shareHistory(doc).map((d) => [d.date, d.shares.map((s) => s.partnerId).sort()])).toEqual(
      [
        ['2026-11-02', [A, B].sort()],
        [DAY, [A]],
      ],
    );
  });

  it('reads a share with a field missing as absent, and a malformed heard mark as not heard', () => {
    const doc = twoPartnerSpace();
    const key = saveShare(doc, share());
    const raw = roots(doc).shares.get(key)!;
    raw.set('heard', { by: A, at: T0, fingerprint: 'x' });
    expect(getShare(doc, DAY, A)!.heard).toBeNull();
    raw.delete('needs');
    expect(getShare(doc, DAY, A)).toBeNull();
    expect(listShares(doc)).toEqual([]);
  });

  it('an older document without shares reads none, and the first share creates the section', () => {
    // As a document written before shares existed arrives on a device.
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(twoPartnerSpace()));
    expect(doc.share.has(Root.partners)).toBe(true);
    expect(doc.share.has(Root.shares)).toBe(false);
    expect(listShares(doc)).toEqual([]);
    expect(todayFor(doc, { partnerId: A, date: DAY })).toMatchObject({
      share: null,
      sharesToHear: [],
    });
    saveShare(doc, share());
    expect(roots(replicaOf(doc)).shares.size).toBe(1);
  });
});
