import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { isDeviceName, isIsoTime, nameDevice, readDeviceNames } from './devices.js';
import { ModelErrorCode } from './errors.js';
import type { PartnerId } from './ids.js';
import { migrate, schemaVersionOf } from './migrate.js';
import { Origin } from './origin.js';
import { roots } from './store.js';
import {
  A,
  B,
  T0,
  codeOf,
  deviceKeyOf,
  originsOf,
  replicaOf,
  sync,
  twoPartnerSpace,
  updatesDuring,
} from './testing/fixtures.js';
import { checkUpdateShape } from './updateShape.js';

const PHONE = deviceKeyOf('alex-phone');
const LAPTOP = deviceKeyOf('alex-laptop');
const SAMS = deviceKeyOf('sam-phone');
const AT = new Date(T0).toISOString();

describe('device names', () => {
  it('a device writes its entry in one change, with its partner, its name trimmed and when it was added; both replicas read it', () => {
    const doc = twoPartnerSpace();
    const other = replicaOf(doc);
    let wrote: boolean | undefined;
    expect(
      originsOf(
        doc,
        () =>
          (wrote = nameDevice(doc, {
            partnerId: A,
            device: PHONE,
            name: "  Alex's phone ",
            now: T0,
          })),
      ),
    ).toEqual([Origin.nameDevice]);
    expect(wrote).toBe(true);
    nameDevice(other, { partnerId: B, device: SAMS, name: 'Phone', now: T0 + 5 });
    sync(doc, other);
    for (const d of [doc, other]) {
      expect(readDeviceNames(d)).toEqual(
        new Map([
          [PHONE, { partnerId: A, name: "Alex's phone", addedAt: AT }],
          [SAMS, { partnerId: B, name: 'Phone', addedAt: new Date(T0 + 5).toISOString() }],
        ]),
      );
    }
  });

  it('any device of the partner renames it; the name changes, when it was added never does, and the same name writes nothing', () => {
    const phone = twoPartnerSpace();
    nameDevice(phone, { partnerId: A, device: LAPTOP, name: 'Laptop', now: T0 });
    const laptop = replicaOf(phone);
    expect(
      nameDevice(laptop, { partnerId: A, device: LAPTOP, name: "Alex's laptop", now: T0 + 9 }),
    ).toBe(true);
    sync(phone, laptop);
    expect(readDeviceNames(phone).get(LAPTOP)).toEqual({
      partnerId: A,
      name: "Alex's laptop",
      addedAt: AT,
    });
    expect(
      updatesDuring(phone, () =>
        nameDevice(phone, { partnerId: A, device: LAPTOP, name: " Alex's laptop", now: T0 + 20 }),
      ),
    ).toEqual([]);
    expect(
      nameDevice(phone, { partnerId: A, device: LAPTOP, name: "Alex's laptop", now: T0 }),
    ).toBe(false);
  });

  it("refuses the other partner's device, a bad key, an empty or long name and a partner the space lacks, writing nothing", () => {
    const doc = twoPartnerSpace();
    nameDevice(doc, { partnerId: B, device: SAMS, name: 'Phone', now: T0 });
    const refused: [Parameters<typeof nameDevice>[1], string][] = [
      [{ partnerId: A, device: SAMS, name: "Sam's?", now: T0 }, ModelErrorCode.notAllowed],
      [
        { partnerId: A, device: PHONE.slice(1), name: 'Phone', now: T0 },
        ModelErrorCode.invalidArgument,
      ],
      [
        { partnerId: A, device: `${PHONE.slice(0, 42)}B`, name: 'Phone', now: T0 },
        ModelErrorCode.invalidArgument,
      ],
      [{ partnerId: A, device: PHONE, name: '   ', now: T0 }, ModelErrorCode.invalidArgument],
      [
        { partnerId: A, device: PHONE, name: 'x'.repeat(41), now: T0 },
        ModelErrorCode.invalidArgument,
      ],
      [{ partnerId: A, device: PHONE, name: 42 as never, now: T0 }, ModelErrorCode.invalidArgument],
      [{ partnerId: A, device: PHONE, name: 'Phone', now: -1 }, ModelErrorCode.invalidArgument],
      [
        { partnerId: 'partnerCCCCCCCCCCCCC' as PartnerId, device: PHONE, name: 'Phone', now: T0 },
        ModelErrorCode.notFound,
      ],
    ];
    for (const [input, code] of refused) {
      expect(updatesDuring(doc, () => nameDevice(doc, input))).toEqual([]);
      expect(codeOf(() => nameDevice(doc, input))).toBe(code);
    }
    // Forty characters, an emoji counting one, is a name.
    expect(
      nameDevice(doc, { partnerId: A, device: PHONE, name: `${'x'.repeat(39)}🌱`, now: T0 }),
    ).toBe(true);
    expect(
      codeOf(() => nameDevice(new Y.Doc(), { partnerId: A, device: PHONE, name: 'P', now: T0 })),
    ).toBe(ModelErrorCode.spaceNotInitialised);
    expect(readDeviceNames(doc).get(SAMS)?.name).toBe('Phone');
  });

  it('reads past entries another version, a forger or a parked rename left unreadable', () => {
    const doc = twoPartnerSpace();
    nameDevice(doc, { partnerId: B, device: SAMS, name: 'Phone', now: T0 });
    const devices = roots(doc).devices;
    const entry = (fields: Record<string, unknown>) => {
      const map = new Y.Map<unknown>();
      for (const [k, v] of Object.entries(fields)) map.set(k, v);
      return map;
    };
    doc.transact(() => {
      devices.set('not a key', entry({ partnerId: A, name: 'x', addedAt: AT }));
      devices.set(deviceKeyOf('1'), { partnerId: A, name: 'x', addedAt: AT } as never);
      devices.set(deviceKeyOf('2'), entry({ partnerId: A, addedAt: AT }));
      devices.set(deviceKeyOf('3'), entry({ partnerId: A, name: ' x', addedAt: AT }));
      devices.set(deviceKeyOf('4'), entry({ partnerId: A, name: 'x', addedAt: T0 }));
      devices.set(
        deviceKeyOf('5'),
        entry({ partnerId: A, name: 'x', addedAt: '2026-11-01T09:00:00Z' }),
      );
      devices.set(deviceKeyOf('6'), entry({ partnerId: 'who', name: 'x', addedAt: AT }));
    });
    expect([...readDeviceNames(doc).keys()]).toEqual([SAMS]);
    // An entry this code cannot read is not renamed over.
    expect(
      codeOf(() => nameDevice(doc, { partnerId: A, device: deviceKeyOf('1'), name: 'P', now: T0 })),
    ).toBe(ModelErrorCode.notAllowed);
  });

  it('checks names and times as the rule table does', () => {
    expect(['a', 'x'.repeat(40), 'Alex’s 📱'].every(isDeviceName)).toBe(true);
    expect(['', ' a', 'a ', 'x'.repeat(41), 3, null].some(isDeviceName)).toBe(false);
    expect(isIsoTime(AT)).toBe(true);
    for (const t of [
      '2026-11-01T09:00:00Z',
      '2026-11-01T09:00:00.000+00:00',
      '2026-02-30T09:00:00.000Z',
      T0,
    ]) {
      expect(isIsoTime(t)).toBe(false);
    }
  });

  it('passes the plaintext shape check and leaves migration alone', () => {
    const doc = twoPartnerSpace();
    const server = replicaOf(doc);
    const before = Y.encodeStateVector(doc);
    nameDevice(doc, { partnerId: A, device: PHONE, name: 'Phone', now: T0 });
    nameDevice(doc, { partnerId: A, device: PHONE, name: 'Old phone', now: T0 });
    const increment = Y.encodeStateAsUpdate(doc, before);
    expect(checkUpdateShape(increment, (c) => Y.getState(server.store, c)).ok).toBe(true);
    expect(migrate(doc).migrated).toBe(false);
    expect(readDeviceNames(doc).get(PHONE)?.name).toBe('Old phone');
    const empty = new Y.Doc();
    empty.getMap('devices').set(PHONE, new Y.Map());
    expect(schemaVersionOf(empty)).toBeNull();
  });

  it('converges, each entry keeping its partner and first time, named by a device of that partner', () => {
    // Devices 0 and 1 are A's, 2 and 3 B's. Each creates its own entry only (as the app does);
    // any device of a partner renames that partner's entries it has received.
    const keys = [PHONE, LAPTOP, SAMS, deviceKeyOf('sam-laptop')];
    const step = fc.record({
      device: fc.nat({ max: 3 }),
      action: fc.constantFrom('name', 'rename', 'sync'),
      pick: fc.nat({ max: 3 }),
      name: fc.constantFrom('Phone', 'Laptop', "Alex's phone", 'Work 💻'),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const first = twoPartnerSpace();
        const devices = [first, replicaOf(first), replicaOf(first), replicaOf(first)];
        const named = new Map<string, { names: Set<string>; times: Set<string> }>();
        let time = T0;
        for (const s of steps) {
          const doc = devices[s.device]!;
          const partnerId = s.device < 2 ? A : B;
          if (s.action === 'sync') {
            sync(doc, devices[s.pick]!);
            continue;
          }
          const own = [...readDeviceNames(doc)].filter(([, d]) => d.partnerId === partnerId);
          const key =
            s.action === 'name' ? keys[s.device]! : own[s.pick % Math.max(1, own.length)]?.[0];
          if (key === undefined) continue;
          time += 1000;
          nameDevice(doc, { partnerId, device: key, name: s.name, now: time });
          const record = named.get(key) ?? { names: new Set(), times: new Set() };
          record.names.add(s.name);
          record.times.add(new Date(time).toISOString());
          named.set(key, record);
        }
        for (const d of devices.slice(1)) sync(devices[0]!, d);
        for (const d of devices.slice(1)) sync(devices[0]!, d);
        const read = devices.map((d) => readDeviceNames(d));
        for (const r of read) expect(r).toEqual(read[0]);
        expect(new Set(read[0]!.keys())).toEqual(new Set(named.keys()));
        for (const [key, entry] of read[0]!) {
          expect(entry.partnerId).toBe(keys.indexOf(key) < 2 ? A : B);
          expect(named.get(key)!.names.has(entry.name)).toBe(true);
          // Written once, by the device itself, when it first named itself.
          expect([...named.get(key)!.times].sort()[0]).toBe(entry.addedAt);
        }
      }),
      { numRuns: 100 },
    );
  });
});
