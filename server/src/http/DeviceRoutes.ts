import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloseCode, type SpaceId } from '@mend/protocol';
import type { Config } from '../config.js';
import type { MembersEnded } from '../pubsub/membersEnded.js';
import type { DeviceRoster } from '../spaces/DeviceRoster.js';
import type { Spaces } from '../spaces/Spaces.js';
import type { DeviceRecord, SpaceDirectory } from '../storage/StorageAdapter.js';
import {
  HttpError,
  allow,
  parseBody,
  readJson,
  spaceRequest,
  sendJson,
  setSpaceCookie,
} from './apiEdge.js';
import {
  EPOCH_BOXES_BODY_BYTES,
  PutEpochBoxesRequest,
  PutRecoveryKitRequest,
  RecoverRequest,
  signingKeyOfPath,
  type DeviceListResponse,
  type EpochBoxesResponse,
  type RecoveredResponse,
  type RecoveryChallengeResponse,
} from './rosterRequests.js';
import { sealedDevice } from './sealedDevice.js';
import { deviceMemberKey } from './syncAuth.js';

export interface DeviceRoutesDeps {
  config: Config;
  /** Whose credential a request carries. */
  directory: SpaceDirectory;
  spaces: Pick<Spaces, 'find'>;
  roster: DeviceRoster;
  /** Counts the request against its address's allowance of creates and joins (429 past it). */
  rateLimit: (req: IncomingMessage) => void;
  /** Whether the space's cookie is to be marked Secure. */
  secure: (req: IncomingMessage) => boolean;
  /** Closes members' sockets on every process (HttpApiDeps.endMembers). */
  endMembers: (spaceId: SpaceId, ended: MembersEnded) => Promise<void>;
}

/** Why a device of a plaintext space cannot use these routes (409). */
const NOT_SEALED =
  'This space is not end-to-end encrypted yet, so its devices cannot be managed this way.';

/** Where a route was reached: `/api/sealed-spaces/:spaceId/…` or `/sync/:spaceId/…`. */
export type RouteBase = 'api' | 'sync';

/**
 * The routes of the devices of a sealed space (docs/api.md, "The devices of a space", "Removing
 * a device", "Epoch boxes", "Recovery kit"): the list, one device removing another, the boxes of a
 * new epoch's key, a seat's recovery kit, and the recovery itself. A device's routes are served
 * under `/api/sealed-spaces/:spaceId` and under `/sync/:spaceId`, the one path a browser sends the
 * space's cookie on, with the credentials of the link routes (sealedDevice). The challenge and the recovery take no credentials and have
 * only their `/api` address.
 */
export class DeviceRoutes {
  readonly #deps: DeviceRoutesDeps;

  constructor(deps: DeviceRoutesDeps) {
    this.#deps = deps;
  }

  /** Answers `<base>/<rawSpaceId>/devices<rest>`. */
  async devices(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
    rest: string,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (rest === '') {
      allow(method, ['GET']);
      const device = await this.#device(req, rawSpaceId, false);
      sendJson(res, 200, (await this.#deps.roster.list(device)) satisfies DeviceListResponse);
      return;
    }
    const one = /^\/([^/]+)$/.exec(rest);
    if (!one) throw new HttpError(404, 'There is nothing here.');
    allow(method, ['DELETE']);
    return this.#remove(req, res, rawSpaceId, one[1] ?? '');
  }

  /**
   * Answers `<base>/<rawSpaceId>/epoch-boxes`: a device leaves the boxes of a new epoch's key for
   * the devices that stay (PUT), or fetches its own (GET).
   */
  async epochBoxes(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    const method = req.method ?? 'GET';
    allow(method, ['GET', 'PUT']);
    if (method === 'PUT') return this.#putEpochBoxes(req, res, rawSpaceId);
    const device = await this.#device(req, rawSpaceId, false);
    sendJson(res, 200, (await this.#deps.roster.epochBoxes(device)) satisfies EpochBoxesResponse);
  }

  /** Answers `<base>/<rawSpaceId>/recovery<rest>`. */
  async recovery(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
    rest: string,
    base: RouteBase,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (rest === '') {
      allow(method, base === 'api' ? ['PUT', 'POST'] : ['PUT']);
      if (method === 'PUT') return this.#putKit(req, res, rawSpaceId);
      return this.#recover(req, res, rawSpaceId);
    }
    if (rest === '/challenge' && base === 'api') {
      allow(method, ['POST']);
      return this.#challenge(req, res, rawSpaceId);
    }
    throw new HttpError(404, 'There is nothing here.');
  }

  /**
   * A device removes another device of its space: revoked for good, its sockets closed with 4401
   * on every process before the answer, as when a device leaves. Sent again: the same answer.
   */
  async #remove(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
    rawSigningKey: string,
  ): Promise<void> {
    const device = await this.#device(req, rawSpaceId, true);
    const signingKey = signingKeyOfPath(rawSigningKey);
    await this.#deps.roster.remove(device, signingKey);
    if (signingKey) await this.#endDevices(device.spaceId, [signingKey]);
    noContent(res);
  }

  /** A device makes its seat's recovery kit; the seat's earlier recovery device goes. */
  async #putKit(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    this.#deps.rateLimit(req);
    const device = await this.#device(req, rawSpaceId, true);
    const body = parseBody(PutRecoveryKitRequest, await readJson(req, this.#deps.config));
    const replaced = await this.#deps.roster.putKit(device, body);
    if (replaced.length > 0) await this.#endDevices(device.spaceId, replaced);
    noContent(res);
  }

  /**
   * The boxes of a new epoch's key. Not counted like a create: only a current device reaches the
   * body, whose size and effect on storage are bounded (64 boxes, four writers per device).
   */
  async #putEpochBoxes(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
  ): Promise<void> {
    const device = await this.#device(req, rawSpaceId, true);
    const { config } = this.#deps;
    const raw = await readJson(req, config, {
      maxBytes: EPOCH_BOXES_BODY_BYTES,
      timeoutMs: config.limits.bodyTimeoutMs,
    });
    await this.#deps.roster.putEpochBoxes(device, parseBody(PutEpochBoxesRequest, raw));
    noContent(res);
  }

  /** A challenge for a recovery (no credentials). Counted like a create. */
  async #challenge(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    this.#deps.rateLimit(req);
    const space = await this.#deps.spaces.find(rawSpaceId);
    const issued = await this.#deps.roster.challenge(space);
    sendJson(res, 201, issued satisfies RecoveryChallengeResponse);
  }

  /**
   * A recovery with the kit (no credentials): counted like a create, and against the space's
   * allowance of failures. The space is looked up before the body's 408/413/400, as for a join;
   * 201 sets the space's cookie as a sealed join does.
   */
  async #recover(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    const { space, body } = await spaceRequest(req, rawSpaceId, RecoverRequest, this.#deps);
    const outcome = await this.#deps.roster.recover(space, body);
    if (!outcome.recovered) {
      throw new HttpError(
        429,
        'Too many recovery attempts for this space in the last hour. Please wait and try again.',
        { 'Retry-After': String(outcome.retryAfterSeconds) },
      );
    }
    setSpaceCookie(res, space.spaceId, outcome.answer.token, this.#deps.secure(req));
    sendJson(res, 201, outcome.answer satisfies RecoveredResponse);
  }

  /** Closes the devices' sockets with 4401 on every process (resolves once all were told). */
  #endDevices(spaceId: SpaceId, signingKeys: readonly Uint8Array[]): Promise<void> {
    return this.#deps.endMembers(spaceId, {
      code: CloseCode.revoked,
      members: signingKeys.map((key) => deviceMemberKey(spaceId, key)),
    });
  }

  #device(
    req: IncomingMessage,
    rawSpaceId: string,
    cookieNeedsOrigin: boolean,
  ): Promise<DeviceRecord> {
    return sealedDevice(req, rawSpaceId, this.#deps, { cookieNeedsOrigin, notSealed: NOT_SEALED });
  }
}

function noContent(res: ServerResponse): void {
  res.statusCode = 204;
  res.end();
}
