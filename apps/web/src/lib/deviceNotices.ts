// Part of what deviceNames.ts loads (through sealedSync.ts, after the space is shown): which
// devices Today announces, and what this device remembers of them.

/** A device of the space as the sealed log lists it (docs/protocol.md, issue 13). */
export interface LoggedDevice {
  readonly signingKey: string;
  readonly partnerId: string;
  /** The device of the same seat that linked it, or null for a seat's first device. */
  readonly linkedBy: string | null;
  readonly removed?: boolean;
  /** The device whose epoch statement removed it, when it was removed. */
  readonly removedBy?: string | null;
  /** The seat's recovery kit (a recovery device), not a device anyone holds. */
  readonly recovery?: boolean;
  /** Brought back into its seat by the other partner's device (a return link). */
  readonly returned?: boolean;
}

/** A device's name as the document gives it (the model's `DeviceName`). */
export interface NamedDevice {
  readonly partnerId: string;
  readonly name: string;
  readonly addedAt: string;
}

/** One calm line on Today: a device came into the space, or left it. */
export interface DeviceNotice {
  /** `added:<key>` or `removed:<key>` (also for one that left): what dismissing it remembers. */
  readonly id: string;
  /** `left`: Mend was removed from the device itself (it removed itself from the space). */
  readonly kind: 'added' | 'removed' | 'left';
  readonly device: string;
  /** Who added it (its seat), or who removed it (the remover's seat). */
  readonly partnerId: string;
  /** What the device is: an ordinary one, the seat's recovery kit, or one the kit brought in. */
  readonly what: 'device' | 'kit' | 'by-kit' | 'returned';
  /** Whose seat the device is in. */
  readonly owner: string;
  /** Its name, when the document names it in that seat. */
  readonly name: string | null;
  /** When it was added (the name's `addedAt`), for an added device that has a name. */
  readonly addedAt: string | null;
}

/**
 * What this device remembers of a space's devices: those there (and those removed) when it first
 * saw the space, which are never announced, and the notices this person dismissed.
 */
export interface NoticeMemory {
  readonly known: readonly string[];
  readonly removed: readonly string[];
  readonly dismissed: readonly string[];
}

/** The localStorage key; it names the space, so leaving the device clears it (leaveDevice.ts). */
export function noticeMemoryKey(spaceId: string): string {
  return `mend:device-notices:${spaceId}`;
}

/** The memory for the space, or null when there is none (or what is stored is not one). */
export function readNoticeMemory(storage: Storage, spaceId: string): NoticeMemory | null {
  let stored: unknown;
  try {
    stored = JSON.parse(storage.getItem(noticeMemoryKey(spaceId)) ?? 'null');
  } catch {
    return null;
  }
  if (typeof stored !== 'object' || stored === null) return null;
  const { known, removed, dismissed } = stored as Record<string, unknown>;
  if (!isTextList(known) || !isTextList(removed) || !isTextList(dismissed)) return null;
  return { known, removed, dismissed };
}

/**
 * Remembers the devices there when this device first sees the space as a member (synced, so the
 * list is the log's whole list). Later calls keep the first memory. Storage that refuses is
 * shrugged off: at worst a device is announced that was there before.
 */
export function rememberFirstSight(
  storage: Storage,
  spaceId: string,
  devices: readonly LoggedDevice[],
): void {
  if (readNoticeMemory(storage, spaceId)) return;
  write(storage, spaceId, {
    known: devices.map((d) => d.signingKey),
    removed: devices.filter((d) => d.removed).map((d) => d.signingKey),
    dismissed: [],
  });
}

export function dismissDeviceNotice(storage: Storage, spaceId: string, id: string): void {
  const memory = readNoticeMemory(storage, spaceId);
  if (!memory || memory.dismissed.includes(id)) return;
  write(storage, spaceId, { ...memory, dismissed: [...memory.dismissed, id] });
}

/**
 * What Today announces: each device added or removed since this device first saw the space, not
 * dismissed. Not a seat's first device (that is the partner joining), not this device, and not a
 * device this device linked (the person did it here, a moment ago). Nothing before the memory
 * exists: until then every device might be one that was always there.
 */
export function deviceNotices(input: {
  readonly devices: readonly LoggedDevice[];
  readonly names: ReadonlyMap<string, NamedDevice>;
  readonly memory: NoticeMemory | null;
  readonly thisDevice: string;
}): DeviceNotice[] {
  const { devices, names, memory, thisDevice } = input;
  if (!memory) return [];
  const notices: DeviceNotice[] = [];
  for (const d of devices) {
    if (d.signingKey === thisDevice) continue;
    const own = nameIn(names, d);
    const linker = devices.find((l) => l.signingKey === d.linkedBy);
    const what = d.recovery
      ? 'kit'
      : linker?.recovery
        ? 'by-kit'
        : d.returned
          ? 'returned'
          : 'device';
    const base = {
      device: d.signingKey,
      // Who did it: the other partner's device brings a partner back.
      partnerId: d.returned && linker ? linker.partnerId : d.partnerId,
      owner: d.partnerId,
      name: own?.name ?? null,
      what,
    } as const;
    if (!memory.known.includes(d.signingKey) && d.linkedBy !== null && d.linkedBy !== thisDevice) {
      notices.push({
        ...base,
        id: `added:${d.signingKey}`,
        kind: 'added',
        addedAt: own?.addedAt ?? null,
      });
    }
    if (d.removed && !memory.removed.includes(d.signingKey) && d.removedBy !== thisDevice) {
      // Credited to the seat of the device that removed it: the partner, in an emergency.
      const remover = devices.find((r) => r.signingKey === d.removedBy);
      notices.push({
        ...base,
        partnerId: remover?.partnerId ?? d.partnerId,
        id: `removed:${d.signingKey}`,
        kind: leftOnItsOwn(d) ? 'left' : 'removed',
        addedAt: null,
      });
    }
  }
  return notices.filter((n) => !memory.dismissed.includes(n.id));
}

/** Whether the device left on its own: Mend was removed from it, and its statement removed it. */
export function leftOnItsOwn(
  d: Pick<LoggedDevice, 'signingKey' | 'removed' | 'removedBy'>,
): boolean {
  return d.removed === true && d.removedBy === d.signingKey;
}

/**
 * A device's name as the document gives it, only if it is in the seat the log puts the device in
 * (a partner's forging device could name a device of the other's), else null.
 */
export function nameIn<T extends NamedDevice>(
  names: ReadonlyMap<string, T>,
  device: Pick<LoggedDevice, 'signingKey' | 'partnerId'>,
): T | null {
  const named = names.get(device.signingKey);
  return named?.partnerId === device.partnerId ? named : null;
}

/**
 * The notice in words: "Alex added a device (Alex's laptop) on Tuesday.", "You removed a device
 * (Old phone).", "Alex removed Mend from a device (Work laptop)." `who` is the partner's name, or
 * "You" for this person's own seat.
 */
export function noticeSentence(
  notice: DeviceNotice,
  who: string,
  now = Date.now(),
  owner = who,
): string {
  const name = notice.name === null ? '' : ` (${notice.name})`;
  const at = notice.addedAt === null ? NaN : Date.parse(notice.addedAt);
  const when = Number.isFinite(at) ? ` ${dayWords(at, now)}` : '';
  const theirs = owner === 'You' ? 'your' : owner === who ? 'their' : `${owner}'s`;
  if (notice.what === 'kit') {
    return notice.kind === 'added'
      ? `${who} made a recovery kit${when}.`
      : `${who} removed ${theirs} recovery kit.`;
  }
  if (notice.kind === 'left') return `${who} removed Mend from a device${name}.`;
  if (notice.kind === 'removed') {
    return owner === who
      ? `${who} removed a device${name}.`
      : `${who} removed one of ${theirs} devices${name}.`;
  }
  if (notice.what === 'returned') {
    const whom = owner === 'You' ? 'you' : owner;
    return `${who} brought ${whom} back on a new device${name}${when}.`;
  }
  if (notice.what === 'by-kit')
    return `${who} used ${theirs} recovery kit on a new device${name}${when}.`;
  return `${who} added a device${name}${when}.`;
}

/** "today", "yesterday", "on Tuesday" within the week, else "on 3 Dec 2026". */
export function dayWords(at: number, now: number, locale?: string): string {
  const day = (t: number) => {
    const d = new Date(t);
    return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  };
  const days = Math.round((day(now) - day(at)) / 86_400_000);
  if (days <= 0) return 'today';
  if (days === 1) return 'yesterday';
  if (days < 7) return `on ${new Intl.DateTimeFormat(locale, { weekday: 'long' }).format(at)}`;
  return `on ${new Intl.DateTimeFormat(locale, { dateStyle: 'medium' }).format(at)}`;
}

function write(storage: Storage, spaceId: string, memory: NoticeMemory): void {
  try {
    storage.setItem(noticeMemoryKey(spaceId), JSON.stringify(memory));
  } catch {
    // Full or refused storage: the notices are a courtesy, never a reason to fail.
  }
}

function isTextList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
