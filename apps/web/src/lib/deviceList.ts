// Part of what deviceNames.ts loads (through sealedSync.ts): the devices page's list, one seat at
// a time, in words.
import { leftOnItsOwn, nameIn, type LoggedDevice, type NamedDevice } from './deviceNotices.js';
import type { LastSeen } from './deviceSeen.js';
import { timeAgo } from './time.js';

/** One device as the devices page lists it. */
export interface DeviceView {
  readonly key: string;
  /** Its name, or the usual words ("The first device") while it has none. */
  readonly label: string;
  readonly isThis: boolean;
  /** "This device" beside a name (a device without one is called that already). */
  readonly badge: string | null;
  /** What is known of it, each a short phrase: how it came in, when, when last seen. */
  readonly details: readonly string[];
  /** Removed from the space: listed, so both see it, and nothing more to do with it. */
  readonly removed: boolean;
}

const added = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/**
 * A seat's devices, in the log's order: each by its name where the document names it in this
 * seat, else as "this device", "the first device", "device 2"; how it came in; when it was added
 * (from its name's `addedAt`); when the server last saw it, if the server said.
 */
export function seatDevices(input: {
  /** Every device of the space, as the log lists it. */
  readonly devices: readonly LoggedDevice[];
  readonly partnerId: string;
  /** The partner's name in "the one Alex first opened the space on", or null for one's own seat. */
  readonly partnerName: string | null;
  /** The other seat's name, for "removed by Sam" (a device removed from the other seat). */
  readonly otherName?: string;
  readonly thisDevice: string;
  readonly names: ReadonlyMap<string, NamedDevice>;
  readonly lastSeen: LastSeen | null;
  readonly now?: number;
}): DeviceView[] {
  const { devices, names, thisDevice, partnerName } = input;
  // A recovery kit is not a device anyone holds: the page shows it apart (RecoveryKit.svelte).
  const seat = devices.filter((d) => d.partnerId === input.partnerId && !d.recovery);
  const nameOf = (key: string): string => {
    const device = devices.find((d) => d.signingKey === key);
    const named = device ? nameIn(names, device) : null;
    if (named) return named.name;
    if (key === thisDevice) return 'this device';
    const i = seat.findIndex((d) => d.signingKey === key);
    return i === 0 ? 'the first device' : `device ${i + 1}`;
  };
  return seat.map((d) => {
    const linker = devices.find((l) => l.signingKey === d.linkedBy);
    const details = [
      d.linkedBy === null
        ? `the one ${partnerName ?? 'you'} first opened the space on`
        : linker?.recovery
          ? 'added with the recovery kit'
          : d.returned
            ? `brought back by ${input.otherName ?? 'the other partner'}`
            : `added with a link from ${nameOf(d.linkedBy)}`,
    ];
    const addedAt = Date.parse(nameIn(names, d)?.addedAt ?? '');
    if (Number.isFinite(addedAt)) details.push(`added ${added.format(addedAt)}`);
    const removal = removalOf(d, devices, input.otherName);
    if (removal) details.push(removal.detail);
    const seen = input.lastSeen?.get(d.signingKey);
    if (seen !== undefined && d.signingKey !== thisDevice && !d.removed) {
      details.push(`last seen ${timeAgo(seen, input.now)}`);
    }
    const isThis = d.signingKey === thisDevice;
    return {
      key: d.signingKey,
      label: capitalized(nameOf(d.signingKey)),
      isThis,
      badge: removal?.badge ?? (isThis && nameIn(names, d) ? 'This device' : null),
      details,
      removed: d.removed === true,
    };
  });
}

/** How a removed device is shown: it left on its own, or was removed (by the other seat: in an emergency). */
function removalOf(
  d: LoggedDevice,
  devices: readonly LoggedDevice[],
  otherName: string | undefined,
): { badge: string; detail: string } | null {
  if (!d.removed) return null;
  if (leftOnItsOwn(d)) return { badge: 'Left', detail: 'Mend was removed from it' };
  const by = devices.find((r) => r.signingKey === d.removedBy);
  const byOther = by !== undefined && by.partnerId !== d.partnerId;
  return {
    badge: 'Removed',
    detail: byOther ? `removed by ${otherName ?? 'your partner'}` : 'removed',
  };
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
