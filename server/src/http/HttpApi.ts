import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CloseCode,
  CreateSealedSpaceRequest,
  CreateSpaceRequest,
  JoinSealedSpaceRequest,
  SealedWelcomeRequest,
  type SealedWelcomeResponse,
  JoinSpaceRequest,
  encodeBase64Url,
  type CreateSealedSpaceResponse,
  type CreateSpaceResponse,
  type ErrorResponse,
  type JoinSealedSpaceResponse,
  type JoinSpaceResponse,
  type SealSpaceResponse,
  type SealedKeyResponse,
  type SpaceId,
  type SyncIdentityResponse,
  sealSpaceRequest,
} from '@mend/protocol';
import type * as v from 'valibot';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { MembersEnded } from '../pubsub/membersEnded.js';
import type { DeviceLinks } from '../spaces/DeviceLinks.js';
import type { DeviceRoster } from '../spaces/DeviceRoster.js';
import { SpaceError, type SpaceErrorReason } from '../spaces/SpaceError.js';
import type { Spaces } from '../spaces/Spaces.js';
import type { SpaceDirectory, SpaceRecord } from '../storage/StorageAdapter.js';
import {
  HttpError,
  UNREAD,
  allow,
  base64UrlLength,
  expireSpaceCookie,
  parseBody,
  readJson,
  spaceRequest,
  sendJson,
  setSpaceCookie,
  type BodyLimits,
} from './apiEdge.js';
import { clientAddressKey, type AddressKey } from './clientAddress.js';
import { DeviceRoutes } from './DeviceRoutes.js';
import { LinkRoutes } from './LinkRoutes.js';
import { RateLimiter } from './RateLimiter.js';
import type { StaticSite } from './StaticSite.js';
import {
  acceptedOrigins,
  authorizeSync,
  memberKey,
  plaintextMemberKey,
  reachedOverHttps,
  syncPathSpaceId,
} from './syncAuth.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface HttpApiDeps {
  config: Config;
  /** Whose credential a request carries (the sync identity check). */
  directory: SpaceDirectory;
  /** Creating and joining a space. */
  spaces: Spaces;
  /** Linking a device to its seat. */
  links: DeviceLinks;
  /** The devices of a sealed space: their list, removal and recovery kits. */
  roster: DeviceRoster;
  site: StaticSite;
  log: Logger;
  /** False while starting or shutting down: /healthz answers 503. */
  isReady: () => boolean;
  /**
   * Closes the open sockets of a space's members (memberKey) with `ended.code`, on this process
   * and, through the space's bus, on every other: 4401 for a device that left, 4410 for the
   * partners of a space just sealed. Never rejects.
   */
  endMembers: (spaceId: SpaceId, ended: MembersEnded) => Promise<void>;
}

/** The answer to each refusal of the spaces module. */
const spaceErrorStatus = {
  'not-found': 404,
  'wrong-invite': 403,
  full: 409,
  invalid: 400,
  'other-kind': 409,
  'device-taken': 409,
  changed: 409,
  'link-taken': 409,
  'seat-taken': 409,
  revoked: 401,
  'own-device': 409,
  'recovery-refused': 403,
} as const satisfies Record<SpaceErrorReason, number>;

/**
 * Every plain HTTP request on the public port: the JSON API, /healthz, the sync identity check
 * and the web app's files (/metrics has its own listener). Errors become `{"error": "..."}` in
 * one place, never a stack trace.
 */
export class HttpApi {
  readonly #deps: HttpApiDeps;
  readonly #limiter: RateLimiter;
  readonly #spacesPerDay: RateLimiter;
  readonly #sealRequest: ReturnType<typeof sealSpaceRequest>;
  /** How large and how slow a seal's body may be (the genesis is the whole document). */
  readonly #sealBody: BodyLimits;
  readonly #links: LinkRoutes;
  readonly #devices: DeviceRoutes;

  constructor(deps: HttpApiDeps) {
    this.#deps = deps;
    this.#limiter = new RateLimiter(deps.config.rateLimitPerMinute);
    this.#spacesPerDay = new RateLimiter(deps.config.maxSpacesPerDay, DAY_MS);
    const { maxMessageBytes, limits } = deps.config;
    // The genesis may be as large as the largest envelope the sealed socket takes (a snapshot):
    // two envelopes in base64url, plus the usual body allowance for the keys, boxes and invite.
    this.#sealRequest = sealSpaceRequest(maxMessageBytes);
    this.#sealBody = {
      maxBytes: 2 * base64UrlLength(maxMessageBytes) + limits.maxRequestBodyBytes,
      timeoutMs: limits.sealBodyTimeoutMs,
    };
    this.#links = new LinkRoutes({
      config: deps.config,
      directory: deps.directory,
      spaces: deps.spaces,
      links: deps.links,
      rateLimit: (req) => this.#rateLimit(req),
      secure: (req) => this.#secure(req),
    });
    this.#devices = new DeviceRoutes({
      config: deps.config,
      directory: deps.directory,
      spaces: deps.spaces,
      roster: deps.roster,
      rateLimit: (req) => this.#rateLimit(req),
      secure: (req) => this.#secure(req),
      endMembers: (spaceId, ended) => this.#deps.endMembers(spaceId, ended),
    });
  }

  /** Handles one request. Never throws and never rejects. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#securityHeaders(req, res);
    try {
      await this.#route(req, res);
    } catch (error) {
      if (error instanceof HttpError) {
        for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
        sendJson(res, error.status, { error: error.message } satisfies ErrorResponse);
        return;
      }
      if (error instanceof SpaceError) {
        sendJson(res, spaceErrorStatus[error.reason], {
          error: error.message,
        } satisfies ErrorResponse);
        return;
      }
      this.#deps.log.error({ err: error, method: req.method }, 'request failed');
      if (!res.headersSent) {
        sendJson(res, 500, {
          error: 'Something went wrong on our side. Nothing you wrote was lost; please try again.',
        } satisfies ErrorResponse);
      } else res.destroy();
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const pathname = url.pathname;
    const method = req.method ?? 'GET';

    if (pathname === '/healthz') {
      allow(method, ['GET', 'HEAD']);
      if (!this.#deps.isReady()) throw new HttpError(503, 'The server is not ready.');
      return sendJson(res, 200, { ok: true });
    }
    // Served only on the metrics listener (MEND_METRICS_PORT); here it would tell strangers
    // how many people use this server. Answered explicitly, or the app's fallback page would.
    if (pathname === '/metrics') throw new HttpError(404, 'There is nothing here.');
    if (pathname === '/api' || pathname.startsWith('/api/')) {
      res.setHeader('Cache-Control', 'no-store');
      if (pathname === '/api/spaces') {
        allow(method, ['POST']);
        return this.#countedAsNewSpace(req, () => this.#createSpace(req, res));
      }
      const join = /^\/api\/spaces\/([^/]+)\/join$/.exec(pathname);
      if (join) {
        allow(method, ['POST']);
        return this.#joinSpace(req, res, join[1] ?? '');
      }
      if (pathname === '/api/sealed-spaces') {
        allow(method, ['POST']);
        return this.#countedAsNewSpace(req, () => this.#createSealedSpace(req, res));
      }
      const welcome = /^\/api\/sealed-spaces\/([^/]+)\/welcome$/.exec(pathname);
      if (welcome) {
        allow(method, ['POST']);
        return this.#sealedWelcome(req, res, welcome[1] ?? '');
      }
      const links = /^\/api\/sealed-spaces\/([^/]+)\/links(\/.*)?$/.exec(pathname);
      if (links) return this.#links.route(req, res, links[1] ?? '', links[2] ?? '');
      const devices = /^\/api\/sealed-spaces\/([^/]+)\/devices(\/.*)?$/.exec(pathname);
      if (devices) return this.#devices.devices(req, res, devices[1] ?? '', devices[2] ?? '');
      const epochBoxes = /^\/api\/sealed-spaces\/([^/]+)\/epoch-boxes$/.exec(pathname);
      if (epochBoxes) return this.#devices.epochBoxes(req, res, epochBoxes[1] ?? '');
      const recovery = /^\/api\/sealed-spaces\/([^/]+)\/recovery(\/.*)?$/.exec(pathname);
      if (recovery) {
        return this.#devices.recovery(req, res, recovery[1] ?? '', recovery[2] ?? '', 'api');
      }
      const sealedJoin = /^\/api\/sealed-spaces\/([^/]+)\/join$/.exec(pathname);
      if (sealedJoin) {
        allow(method, ['POST']);
        return this.#joinSealedSpace(req, res, sealedJoin[1] ?? '');
      }
      throw new HttpError(404, 'There is nothing here.');
    }
    if (pathname.startsWith('/sync/')) {
      res.setHeader('Cache-Control', 'no-store');
      const seal = /^\/sync\/([^/]+)\/seal$/.exec(pathname);
      if (seal) {
        allow(method, ['POST']);
        return this.#seal(req, res, seal[1] ?? '');
      }
      // The seat's link routes again where the space's cookie reaches them (Path=/sync/<id>).
      const links = /^\/sync\/([^/]+)\/links(\/.*)?$/.exec(pathname);
      if (links) {
        // The claim takes no credentials: it has one address, under /api.
        if (links[2] === '/claim') throw new HttpError(404, 'There is nothing here.');
        return this.#links.route(req, res, links[1] ?? '', links[2] ?? '');
      }
      // The devices' routes too; the challenge and the recovery take no credentials (/api only).
      const devices = /^\/sync\/([^/]+)\/devices(\/.*)?$/.exec(pathname);
      if (devices) return this.#devices.devices(req, res, devices[1] ?? '', devices[2] ?? '');
      const epochBoxes = /^\/sync\/([^/]+)\/epoch-boxes$/.exec(pathname);
      if (epochBoxes) return this.#devices.epochBoxes(req, res, epochBoxes[1] ?? '');
      const recovery = /^\/sync\/([^/]+)\/recovery(\/.*)?$/.exec(pathname);
      if (recovery) {
        return this.#devices.recovery(req, res, recovery[1] ?? '', recovery[2] ?? '', 'sync');
      }
      const key = /^\/sync\/([^/]+)\/key$/.exec(pathname);
      if (key) {
        allow(method, ['GET']);
        return this.#keyBox(req, res, key[1] ?? '');
      }
      allow(method, ['GET', 'DELETE']);
      const rawSpaceId = syncPathSpaceId(pathname) ?? '';
      if (method === 'DELETE') return this.#leave(req, res, rawSpaceId);
      return this.#syncIdentity(req, res, rawSpaceId);
    }
    allow(method, ['GET', 'HEAD']);
    await this.#deps.site.serve(pathname, res, method === 'HEAD');
  }

  async #createSpace(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#rateLimit(req);
    const body = parseBody(CreateSpaceRequest, await readJson(req, this.#deps.config));
    const created = await this.#deps.spaces.create(body);
    setSpaceCookie(res, created.spaceId, created.token, this.#secure(req));
    sendJson(res, 201, created satisfies CreateSpaceResponse);
  }

  /** The start of every request about an existing space (apiEdge.ts, `spaceRequest`). */
  #spaceRequest<S extends v.GenericSchema>(
    req: IncomingMessage,
    rawSpaceId: string,
    schema: S,
  ): Promise<{ space: SpaceRecord; body: v.InferOutput<S> }> {
    return spaceRequest(req, rawSpaceId, schema, {
      rateLimit: (r) => this.#rateLimit(r),
      config: this.#deps.config,
      spaces: this.#deps.spaces,
    });
  }

  async #joinSpace(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    const { space, body } = await this.#spaceRequest(req, rawSpaceId, JoinSpaceRequest);
    const joined = await this.#deps.spaces.join(space, body);
    setSpaceCookie(res, joined.spaceId, joined.token, this.#secure(req));
    sendJson(res, 201, joined satisfies JoinSpaceResponse);
  }

  async #createSealedSpace(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#rateLimit(req);
    const body = parseBody(CreateSealedSpaceRequest, await readJson(req, this.#deps.config));
    const created = await this.#deps.spaces.createSealed(body);
    setSpaceCookie(res, created.spaceId, created.token, this.#secure(req));
    sendJson(res, 201, created satisfies CreateSealedSpaceResponse);
  }

  async #sealedWelcome(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
  ): Promise<void> {
    // Counted with creates and joins: each try at an invite code is one request of the budget.
    const { space, body } = await this.#spaceRequest(req, rawSpaceId, SealedWelcomeRequest);
    const handed = await this.#deps.spaces.handOverWelcome(space, body);
    sendJson(res, 200, handed satisfies SealedWelcomeResponse);
  }

  async #joinSealedSpace(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
  ): Promise<void> {
    const { space, body } = await this.#spaceRequest(req, rawSpaceId, JoinSealedSpaceRequest);
    const joined = await this.#deps.spaces.joinSealed(space, body);
    setSpaceCookie(res, joined.spaceId, joined.token, this.#secure(req));
    sendJson(res, 201, joined satisfies JoinSealedSpaceResponse);
  }

  async #syncIdentity(
    req: IncomingMessage,
    res: ServerResponse,
    rawSpaceId: string,
  ): Promise<void> {
    const auth = await authorizeSync(
      req,
      rawSpaceId,
      this.#deps.directory,
      acceptedOrigins(this.#deps.config),
      { isUpgrade: false },
    );
    if (!auth.ok && auth.removed) {
      sendJson(res, 401, { error: auth.error, removed: true });
      return;
    }
    if (!auth.ok) throw new HttpError(auth.status, auth.error);
    const { spaceId, member } = auth;
    const identity: SyncIdentityResponse = member.sealed
      ? {
          spaceId,
          partnerId: member.device.partnerId,
          sealed: true,
          signingKey: encodeBase64Url(member.device.signingKey),
        }
      : { spaceId, partnerId: member.partner.partnerId, sealed: false };
    sendJson(res, 200, identity);
  }

  /**
   * A partner's device converts its plaintext space into a sealed one (docs/protocol.md,
   * "Converting a plaintext space"). Credentials as for DELETE (a cookie needs the own Origin),
   * checked before the body, which may be megabytes, is read at all.
   */
  async #seal(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    this.#rateLimit(req);
    const auth = await authorizeSync(
      req,
      rawSpaceId,
      this.#deps.directory,
      acceptedOrigins(this.#deps.config),
      { isUpgrade: false, cookieNeedsOrigin: true },
    );
    if (!auth.ok) throw new HttpError(auth.status, auth.error, UNREAD);
    const { spaceId, member } = auth;
    if (member.sealed) {
      throw new HttpError(409, 'This space is end-to-end encrypted already.', UNREAD);
    }
    const raw = await readJson(req, this.#deps.config, this.#sealBody);
    const body = parseBody(this.#sealRequest, raw);
    const sealed = await this.#deps.spaces.seal(spaceId, member.partner, body);
    await this.#deps.endMembers(spaceId, {
      code: CloseCode.sealedNow,
      members: body.devices.map((d) => plaintextMemberKey(spaceId, d.partnerId)),
    });
    sendJson(res, 200, sealed satisfies SealSpaceResponse);
  }

  /** A device of a converted space fetches the box of its space key (GET /sync/:spaceId/key). */
  async #keyBox(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    const auth = await authorizeSync(
      req,
      rawSpaceId,
      this.#deps.directory,
      acceptedOrigins(this.#deps.config),
      { isUpgrade: false },
    );
    if (!auth.ok) throw new HttpError(auth.status, auth.error);
    const { spaceId, member } = auth;
    if (!member.sealed) {
      throw new HttpError(
        409,
        'This space is not end-to-end encrypted yet, so it has no key to fetch.',
      );
    }
    const answer = await this.#deps.spaces.keyBox(spaceId, member.device);
    sendJson(res, 200, answer satisfies SealedKeyResponse);
  }

  /**
   * This device leaves the space: its token is revoked for good, its open sockets close, and
   * its cookie expires. The partner and everything written stay; nothing else changes.
   */
  async #leave(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    const auth = await authorizeSync(
      req,
      rawSpaceId,
      this.#deps.directory,
      acceptedOrigins(this.#deps.config),
      { isUpgrade: false, cookieNeedsOrigin: true },
    );
    if (!auth.ok) throw new HttpError(auth.status, auth.error);
    const { spaceId, member } = auth;
    const { directory, log } = this.#deps;
    const at = Date.now();
    // False when a second request of the same device revoked it meanwhile (gone either way), or
    // when the space was sealed meanwhile: the token now names a device, which goes instead.
    const revoked = await (member.sealed
      ? directory.revokeDevice(spaceId, member.device.signingKey, at)
      : directory.revokePartner(spaceId, member.partner.partnerId, at));
    const members = [memberKey(spaceId, member)];
    if (!revoked && !member.sealed) {
      const device = await directory.findDeviceByTokenHash(member.partner.tokenHash);
      if (device?.spaceId === spaceId) {
        await directory.revokeDevice(spaceId, device.signingKey, at);
        members.push(memberKey(spaceId, { sealed: true, device }));
      }
    }
    // Answered once the other processes were told (a failure to tell them is logged only).
    await this.#deps.endMembers(spaceId, { code: CloseCode.revoked, members });
    log.info({ spaceId }, 'a device left its space');
    expireSpaceCookie(res, spaceId, this.#secure(req));
    res.statusCode = 204;
    res.end();
  }

  #clientKey(req: IncomingMessage): AddressKey {
    return clientAddressKey(req, this.#deps.config.trustProxy);
  }

  #secure(req: IncomingMessage): boolean {
    return reachedOverHttps(req, this.#deps.config.publicOrigin);
  }

  /**
   * Runs `create` against the address's daily allowance of new spaces (MEND_MAX_SPACES_PER_DAY).
   * A creation that fails gives its place back, so a typo in a name costs nothing.
   */
  async #countedAsNewSpace(req: IncomingMessage, create: () => Promise<void>): Promise<void> {
    const key = this.#clientKey(req);
    const retryAfter = this.#spacesPerDay.take(key);
    if (retryAfter > 0) {
      this.#deps.log.debug('refused a new space: the daily allowance of this address is spent');
      throw new HttpError(
        429,
        'Many spaces were created from this network today. Please try again tomorrow; the spaces you already have are untouched.',
        { 'Retry-After': String(retryAfter) },
      );
    }
    try {
      await create();
    } catch (error) {
      this.#spacesPerDay.refund(key);
      throw error;
    }
  }

  #rateLimit(req: IncomingMessage): void {
    const retryAfter = this.#limiter.take(this.#clientKey(req));
    if (retryAfter > 0) {
      throw new HttpError(
        429,
        'Too many attempts in a short time. Please wait a minute and try again.',
        { 'Retry-After': String(retryAfter) },
      );
    }
  }

  #securityHeaders(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('Content-Security-Policy', this.#deps.site.csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (this.#secure(req)) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
  }
}
