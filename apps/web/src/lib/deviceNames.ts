// Loaded on demand, through sealedSync.ts (loadDeviceNames): device names exist only in a sealed
// space, whose sync code is loaded already, and none of this is needed to show the space.
import {
  isModelError,
  Limits,
  listPartners,
  nameDevice,
  readDeviceNames,
  roots,
  type DeviceName,
  type PartnerId,
} from '@mend/model';
import type * as Y from 'yjs';
import { rememberFirstSight, type LoggedDevice } from './deviceNotices.js';
import { YView } from './sync/YView.svelte.js';

export {
  deviceNotices,
  dismissDeviceNotice,
  nameIn,
  noticeSentence,
  readNoticeMemory,
  rememberFirstSight,
  type DeviceNotice,
  type NoticeMemory,
} from './deviceNotices.js';
export { nameDevice };
export { seatDevices, type DeviceView } from './deviceList.js';

/** What kind of device a browser's user agent says it runs on, in a word. */
export function deviceKind(userAgent: string): 'phone' | 'tablet' | 'computer' {
  if (/iPad|Tablet|Android(?!.*Mobile)/i.test(userAgent)) return 'tablet';
  if (/Mobi|iPhone|Android/i.test(userAgent)) return 'phone';
  return 'computer';
}

/** "Alex's phone", or "Phone" when the name would be too long: what a new device is called. */
export function defaultDeviceName(userAgent: string, displayName: string): string {
  const kind = deviceKind(userAgent);
  const owned = `${displayName.trim()}'s ${kind}`;
  const fits = displayName.trim() !== '' && [...owned].length <= Limits.deviceName;
  return fits ? owned : kind.charAt(0).toUpperCase() + kind.slice(1);
}

/** What `deviceArrived` reads of the open space (a `Space`). */
export interface ArrivingSpace {
  readonly spaceId: string;
  readonly me: PartnerId;
  readonly connection: {
    readonly doc: Y.Doc;
    readonly devices: { readonly list: readonly LoggedDevice[]; readonly mine: string } | null;
  };
}

/**
 * Once this device is a member of the space (synced): the devices there now are remembered as the
 * ones Today never announces, and, once its seat is in the document, it names itself if it has
 * no name yet. Returns whether it has a name entry now (false: its seat has not arrived yet).
 */
export function deviceArrived(
  space: ArrivingSpace,
  { userAgent = navigator.userAgent, storage = localStorage, now = Date.now() } = {},
): boolean {
  const { doc, devices } = space.connection;
  if (!devices) return false;
  rememberFirstSight(storage, space.spaceId, devices.list);
  if (roots(doc).devices.has(devices.mine)) return true;
  const me = listPartners(doc).find((p) => p.id === space.me);
  if (!me) return false;
  try {
    nameDevice(doc, {
      partnerId: me.id,
      device: devices.mine,
      name: defaultDeviceName(userAgent, me.displayName),
      now,
    });
  } catch (error) {
    if (!isModelError(error)) throw error;
  }
  // Written, or refused for good (another partner's entry under this key): not tried again.
  return true;
}

/** Every device's name, kept up to date while something on screen reads it. */
export function deviceNamesView(doc: Y.Doc): YView<Map<string, DeviceName>> {
  return new YView([roots(doc).devices], () => readDeviceNames(doc));
}
