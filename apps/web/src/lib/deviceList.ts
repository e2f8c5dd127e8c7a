// Part of what deviceNames.ts loads (through sealedSync.ts): the devices page's list, one seat at
// a time, in words.
import { nameIn, type LoggedDevice, type NamedDevice } from './deviceNotices.js';
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
  readonly thisDevice: string;
  readonly names: ReadonlyMap<string, NamedDevice>;
  readonly lastSeen: LastSeen | null;
  readonly now?: number;
}): DeviceView[] {
  const { devices, names, thisDevice, partnerName } = input;
  const seat = devices.filter((d) => d.partnerId === input.partnerId);
  const nameOf = (key: string): string => {
    const device = devices.find((d) => d.signingKey === key);
    const named = device ? nameIn(names, device) : null;
    if (named) return named.name;
    if (key === thisDevice) return 'this device';
    const i = seat.findIndex((d) => d.signingKey === key);
    return i === 0 ? 'the first device' : `device ${i + 1}`;
  };
  return seat.map((d) => {
    const details = [
      d.linkedBy === null
        ? `the one ${partnerName ?? 'you'} first opened the space on`
        : `added with a link from ${nameOf(d.linkedBy)}`,
    ];
    const addedAt = Date.parse(nameIn(names, d)?.addedAt ?? '');
    if (Number.isFinite(addedAt)) details.push(`added ${added.format(addedAt)}`);
    const seen = input.lastSeen?.get(d.signingKey);
    if (seen !== undefined && d.signingKey !== thisDevice) {
      details.push(`last seen ${timeAgo(seen, input.now)}`);
    }
    const isThis = d.signingKey === thisDevice;
    return {
      key: d.signingKey,
      label: capitalized(nameOf(d.signingKey)),
      isThis,
      badge: isThis && nameIn(names, d) ? 'This device' : null,
      details,
    };
  });
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
