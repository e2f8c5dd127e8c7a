import type { IncomingMessage } from 'node:http';
import type { Config } from '../config.js';
import type { DeviceRecord, SpaceDirectory } from '../storage/StorageAdapter.js';
import { HttpError, UNREAD } from './apiEdge.js';
import { acceptedOrigins, authorizeSync } from './syncAuth.js';

/**
 * The device of a sealed space the request's credential names, for the routes a device uses on
 * its space (links, devices, recovery kit): 404 for no such space, 401 and 403 as for
 * `/sync/:spaceId`, 409 with `notSealed` for a plaintext space's partner. `cookieNeedsOrigin` for
 * whatever changes something (a browser sends an Origin on those). A refusal here comes before
 * the body is read, so the connection closes after it.
 */
export async function sealedDevice(
  req: IncomingMessage,
  rawSpaceId: string,
  deps: { config: Config; directory: SpaceDirectory },
  { cookieNeedsOrigin, notSealed }: { cookieNeedsOrigin: boolean; notSealed: string },
): Promise<DeviceRecord> {
  const { config, directory } = deps;
  const auth = await authorizeSync(req, rawSpaceId, directory, acceptedOrigins(config), {
    isUpgrade: false,
    cookieNeedsOrigin,
  });
  if (!auth.ok) throw new HttpError(auth.status, auth.error, UNREAD);
  if (!auth.member.sealed) throw new HttpError(409, notSealed, UNREAD);
  return auth.member.device;
}
