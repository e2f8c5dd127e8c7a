import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ClaimLinkRequest,
  ConfirmLinkRequest,
  OfferLinkRequest,
  type ClaimLinkResponse,
  type LinkStatusResponse,
  type OfferLinkResponse,
} from '@mend/protocol';
import * as v from 'valibot';
import type { Config } from '../config.js';
import type { DeviceLinks } from '../spaces/DeviceLinks.js';
import type { Spaces } from '../spaces/Spaces.js';
import { LinkTarget } from '../storage/DeviceLinkStore.js';
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
import { sealedDevice } from './sealedDevice.js';

export interface LinkRoutesDeps {
  config: Config;
  /** Whose credential a request carries. */
  directory: SpaceDirectory;
  spaces: Pick<Spaces, 'find'>;
  links: DeviceLinks;
  /** Counts the request against its address's allowance of creates and joins (429 past it). */
  rateLimit: (req: IncomingMessage) => void;
  /** Whether the space's cookie is to be marked Secure. */
  secure: (req: IncomingMessage) => boolean;
}

/** Why a device of a plaintext space cannot link (409). */
const NOT_SEALED =
  'This space is not end-to-end encrypted yet, so no device can be added to it this way.';

/**
 * The offer's body: the link code and whose seat the link is for, the offering device's own
 * (absent or "own") or the other partner's ("partner": a return link, docs/protocol.md
 * "Returning to a seat"). It sits here until a device speaks it; then it belongs in
 * @mend/protocol's OfferLinkRequest.
 */
const OfferLinkBody = v.object({
  ...OfferLinkRequest.entries,
  seat: v.optional(
    v.picklist(
      [LinkTarget.own, LinkTarget.partner],
      'The link could not be made: "seat" must be "own" or "partner".',
    ),
    LinkTarget.own,
  ),
});

/**
 * The routes of linking a device (docs/api.md, "Linking a device"), under
 * `/api/sealed-spaces/:spaceId/links`: the offer, the new device's claim (no credentials), and
 * the seat's status, confirm and end. The seat's routes are served under `/sync/:spaceId/links`
 * too, the one path a browser sends the space's cookie on. The credentials are checked as for `POST /sync/:spaceId/seal`
 * (a Bearer token, or the space's cookie with the server's own Origin; a GET takes a cookie
 * without one, as `GET /sync/:spaceId` does), before any body is read.
 */
export class LinkRoutes {
  readonly #deps: LinkRoutesDeps;

  constructor(deps: LinkRoutesDeps) {
    this.#deps = deps;
  }

  /** Answers a request whose path is `/api/sealed-spaces/<rawSpaceId>/links<rest>`. */
  async route(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
    rest: string,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (rest === '') {
      allow(method, ['POST']);
      return this.#offer(req, res, rawSpaceId);
    }
    if (rest === '/claim') {
      allow(method, ['POST']);
      return this.#claim(req, res, rawSpaceId);
    }
    const confirm = /^\/([^/]+)\/confirm$/.exec(rest);
    if (confirm) {
      allow(method, ['POST']);
      return this.#confirm(req, res, rawSpaceId, confirm[1] ?? '');
    }
    const link = /^\/([^/]+)$/.exec(rest);
    if (link) {
      allow(method, ['GET', 'DELETE']);
      if (method === 'DELETE') return this.#end(req, res, rawSpaceId, link[1] ?? '');
      return this.#status(req, res, rawSpaceId, link[1] ?? '');
    }
    throw new HttpError(404, 'There is nothing here.');
  }

  /**
   * A device of a sealed space offers a link to its own seat, or a return link to the other
   * partner's. Counted like a create.
   */
  async #offer(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    this.#deps.rateLimit(req);
    const device = await this.#device(req, rawSpaceId, true);
    const body = parseBody(OfferLinkBody, await readJson(req, this.#deps.config));
    const offered = await this.#deps.links.offer(device, body);
    sendJson(res, 201, offered satisfies OfferLinkResponse);
  }

  /**
   * The new device claims a link, and once it is confirmed collects its token (201, with the
   * space's cookie, as a sealed join sets it). No credentials: each try at a code counts against
   * the address's allowance, as welcome and join requests do. The space is looked up before the
   * body's 408/413/400, as for a join.
   */
  async #claim(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    const { space, body } = await spaceRequest(req, rawSpaceId, ClaimLinkRequest, this.#deps);
    const claimed = await this.#deps.links.claim(space, body);
    if (!claimed.collected) {
      sendJson(res, 202, claimed.answer satisfies ClaimLinkResponse);
      return;
    }
    const { answer } = claimed;
    setSpaceCookie(res, answer.spaceId, answer.token, this.#deps.secure(req));
    sendJson(res, 201, answer satisfies ClaimLinkResponse);
  }

  async #status(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
    rawLinkId: string,
  ): Promise<void> {
    const device = await this.#device(req, rawSpaceId, false);
    const status = await this.#deps.links.status(device, rawLinkId);
    sendJson(res, 200, status satisfies LinkStatusResponse);
  }

  async #confirm(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
    rawLinkId: string,
  ): Promise<void> {
    const device = await this.#device(req, rawSpaceId, true);
    const body = parseBody(ConfirmLinkRequest, await readJson(req, this.#deps.config));
    await this.#deps.links.confirm(device, rawLinkId, body);
    noContent(res);
  }

  async #end(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
    rawLinkId: string,
  ): Promise<void> {
    const device = await this.#device(req, rawSpaceId, true);
    await this.#deps.links.end(device, rawLinkId);
    noContent(res);
  }

  /** The acting device of the seat (sealedDevice); a cookie needs an Origin if it changes something. */
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
