/**
 * SPEC.md "Authorship" for device names (50-52): only the partner an entry names writes it,
 * nobody removes or replaces one, and when it was added never changes. Partner A's forging device
 * writes; both checkers judge.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { nameDevice, readDeviceNames } from './devices.js';
import { roots } from './store.js';
import { A, B, T0, deviceKeyOf } from './testing/fixtures.js';
import { SealedRun } from './testing/sealedRun.js';
import { accepted, forged, refusedAs } from './testing/verdicts.js';

const ALEX_PHONE = deviceKeyOf('alex-phone');
const ALEX_LAPTOP = deviceKeyOf('alex-laptop');
const SAM_PHONE = deviceKeyOf('sam-phone');
const AT = new Date(T0).toISOString();

/** Alex's phone and Sam's phone have named themselves. */
function named(): SealedRun {
  const run = new SealedRun();
  run.write(run.device('a1'), (doc) =>
    nameDevice(doc, { partnerId: A, device: ALEX_PHONE, name: 'Phone', now: T0 }),
  );
  run.write(run.device('b1'), (doc) =>
    nameDevice(doc, { partnerId: B, device: SAM_PHONE, name: "Sam's phone", now: T0 }),
  );
  expect(run.log.every((e) => e.verdict.ok && e.oracle.ok)).toBe(true);
  return run;
}

function entry(fields: Record<string, unknown>): Y.Map<unknown> {
  const map = new Y.Map<unknown>();
  for (const [k, v] of Object.entries(fields)) map.set(k, v);
  return map;
}

describe('device names', () => {
  it('a partner names a new device of theirs and renames any of their devices', () => {
    const run = named();
    expect(
      forged(run, (doc) =>
        nameDevice(doc, { partnerId: A, device: ALEX_LAPTOP, name: 'Laptop', now: T0 + 5 }),
      ),
    ).toEqual(accepted);
    expect(
      forged(run, (doc) =>
        nameDevice(doc, { partnerId: A, device: ALEX_PHONE, name: "Alex's phone", now: T0 + 5 }),
      ),
    ).toEqual(accepted);
  });

  it("refuses renaming the other partner's device, or writing an entry in their name", () => {
    const run = named();
    expect(
      forged(run, (doc) => roots(doc).devices.get(SAM_PHONE)!.set('name', 'Not yours')),
    ).toEqual(refusedAs('others-content'));
    expect(
      forged(run, (doc) =>
        roots(doc).devices.set(
          ALEX_LAPTOP,
          entry({ partnerId: B, name: "Sam's laptop", addedAt: AT }),
        ),
      ),
    ).toEqual(refusedAs('others-content'));
  });

  it('refuses removing or replacing an entry, its own too, and changing who or when', () => {
    const run = named();
    for (const device of [ALEX_PHONE, SAM_PHONE]) {
      expect(forged(run, (doc) => roots(doc).devices.delete(device))).toMatchObject({
        slow: 'refused',
      });
      expect(
        forged(run, (doc) =>
          roots(doc).devices.set(device, entry({ partnerId: A, name: 'Mine', addedAt: AT })),
        ),
      ).toMatchObject({ slow: 'refused' });
    }
    expect(forged(run, (doc) => roots(doc).devices.delete(ALEX_PHONE))).toEqual(
      refusedAs('immutable'),
    );
    const later = new Date(T0 + 86_400_000).toISOString();
    expect(forged(run, (doc) => roots(doc).devices.get(ALEX_PHONE)!.set('addedAt', later))).toEqual(
      refusedAs('immutable'),
    );
    expect(
      forged(run, (doc) => roots(doc).devices.get(ALEX_PHONE)!.set('partnerId', B)),
    ).toMatchObject({ slow: 'refused' });
    expect(forged(run, (doc) => roots(doc).devices.get(ALEX_PHONE)!.delete('name'))).toMatchObject({
      slow: 'refused',
    });
  });

  it('refuses what the schema does not have: a bad key, name or time, a missing field, a plain value', () => {
    const run = named();
    const bad: Record<string, unknown>[] = [
      { partnerId: A, name: '', addedAt: AT },
      { partnerId: A, name: ' Phone', addedAt: AT },
      { partnerId: A, name: 'x'.repeat(41), addedAt: AT },
      { partnerId: A, name: 'Phone', addedAt: T0 },
      { partnerId: A, name: 'Phone', addedAt: '2026-11-01' },
      { partnerId: A, name: 'Phone' },
      { partnerId: A, name: 'Phone', addedAt: AT, colour: 'red' },
    ];
    for (const fields of bad) {
      expect(forged(run, (doc) => roots(doc).devices.set(ALEX_LAPTOP, entry(fields)))).toEqual(
        refusedAs('schema'),
      );
    }
    expect(
      forged(run, (doc) =>
        roots(doc).devices.set('laptop', entry({ partnerId: A, name: 'Laptop', addedAt: AT })),
      ),
    ).toEqual(refusedAs('schema'));
    expect(
      forged(run, (doc) =>
        roots(doc).devices.set(ALEX_LAPTOP, { partnerId: A, name: 'Laptop', addedAt: AT } as never),
      ),
    ).toEqual(refusedAs('schema'));
    expect(forged(run, (doc) => roots(doc).devices.get(ALEX_PHONE)!.set('name', ''))).toEqual(
      refusedAs('schema'),
    );
    expect(readDeviceNames(run.sequenced).get(ALEX_PHONE)?.name).toBe('Phone');
  });
});
