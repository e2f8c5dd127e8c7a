import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CreateSpaceRequest,
  JoinSpaceRequest,
  fieldMessage,
  isRequestField,
  spaceCookieName,
  type CreateSpaceResponse,
  type ErrorResponse,
  type JoinSpaceResponse,
  type SpaceId,
  type SyncIdentityResponse,
} from '@mend/protocol';
import * as v from 'valibot';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { SpaceError, type SpaceErrorReason } from '../spaces/SpaceError.js';
import type { Spaces } from '../spaces/Spaces.js';
import type { SpaceDirectory } from '../storage/StorageAdapter.js';
import { RateLimiter } from './RateLimiter.js';
import type { StaticSite } from './StaticSite.js';
import { authorizeSync, isTls, syncPathSpaceId } from './syncAuth.js';

/** A body that is not a JSON object: the app sent it wrong, so the person may simply retry. */
const UNREADABLE_BODY = 'Something went wrong sending this. Please try again; nothing was lost.';

/** 400 days, the longest lifetime browsers honour. */
const COOKIE_MAX_AGE_SECONDS = 34_560_000;

export interface HttpApiDeps {
  config: Config;
  /** Whose credential a request carries (the sync identity check). */
  directory: SpaceDirectory;
  /** Creating and joining a space. */
  spaces: Spaces;
  site: StaticSite;
  metrics: Metrics;
  log: Logger;
  /** False while starting or shutting down: /healthz answers 503. */
  isReady: () => boolean;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The answer to each refusal of the spaces module. */
const spaceErrorStatus = {
  'not-found': 404,
  'wrong-invite': 403,
  full: 409,
  invalid: 400,
} as const satisfies Record<SpaceErrorReason, number>;

/**
 * Every plain HTTP request: the JSON API, /healthz, /metrics, the sync identity check and the
 * web app's files. Errors become `{"error": "..."}` in one place, never a stack trace.
 */
export class HttpApi {
  readonly #deps: HttpApiDeps;
  readonly #limiter: RateLimiter;

  constructor(deps: HttpApiDeps) {
    this.#deps = deps;
    this.#limiter = new RateLimiter(deps.config.rateLimitPerMinute);
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
    if (pathname === '/metrics') {
      allow(method, ['GET']);
      const { registry } = this.#deps.metrics;
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.end(await registry.metrics());
      return;
    }
    if (pathname === '/api' || pathname.startsWith('/api/')) {
      res.setHeader('Cache-Control', 'no-store');
      if (pathname === '/api/spaces') {
        allow(method, ['POST']);
        return this.#createSpace(req, res);
      }
      const join = /^\/api\/spaces\/([^/]+)\/join$/.exec(pathname);
      if (join) {
        allow(method, ['POST']);
        return this.#joinSpace(req, res, join[1] ?? '');
      }
      throw new HttpError(404, 'There is nothing here.');
    }
    if (pathname.startsWith('/sync/')) {
      res.setHeader('Cache-Control', 'no-store');
      allow(method, ['GET']);
      return this.#syncIdentity(req, res, syncPathSpaceId(pathname) ?? '');
    }
    allow(method, ['GET', 'HEAD']);
    await this.#deps.site.serve(pathname, res, method === 'HEAD');
  }

  async #createSpace(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#rateLimit(req);
    const body = parseBody(CreateSpaceRequest, await readJson(req, this.#deps.config));
    const created = await this.#deps.spaces.create(body);
    setSpaceCookie(req, res, created.spaceId, created.token);
    sendJson(res, 201, created satisfies CreateSpaceResponse);
  }

  async #joinSpace(req: IncomingMessage, res: ServerResponse, rawSpaceId: string): Promise<void> {
    this.#rateLimit(req);
    const raw = await readJsonOrError(req, this.#deps.config);
    const space = await this.#deps.spaces.find(rawSpaceId);
    if (raw instanceof HttpError) throw raw;
    const joined = await this.#deps.spaces.join(space, parseBody(JoinSpaceRequest, raw));
    setSpaceCookie(req, res, joined.spaceId, joined.token);
    sendJson(res, 201, joined satisfies JoinSpaceResponse);
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
      this.#deps.config.allowedOrigins,
      { isUpgrade: false },
    );
    if (!auth.ok) throw new HttpError(auth.status, auth.error);
    sendJson(res, 200, {
      spaceId: auth.spaceId,
      partnerId: auth.partner.partnerId,
    } satisfies SyncIdentityResponse);
  }

  #rateLimit(req: IncomingMessage): void {
    const retryAfter = this.#limiter.take(req.socket.remoteAddress ?? 'unknown');
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
    if (isTls(req)) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
  }
}

function allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) {
    throw new HttpError(405, 'This method is not allowed here.', { Allow: allowed.join(', ') });
  }
}

function parseBody<S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, body);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = issue ? v.getDotPath(issue) : null;
  // Valibot words a missing key its own way; say the same as for a field that is not text.
  const missing = issue?.received === 'undefined';
  throw new HttpError(
    400,
    missing && isRequestField(field) ? fieldMessage[field] : (issue?.message ?? UNREADABLE_BODY),
  );
}

/** Like readJson, but hands a body error back instead of throwing (a 404 comes first). */
async function readJsonOrError(
  req: IncomingMessage,
  config: Config,
): Promise<Record<string, unknown> | HttpError> {
  try {
    return await readJson(req, config);
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
}

async function readJson(req: IncomingMessage, config: Config): Promise<Record<string, unknown>> {
  const limit = config.limits.maxRequestBodyBytes;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    if (size > limit) throw new HttpError(413, 'This request is too large.');
    chunks.push(buffer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, UNREADABLE_BODY);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, UNREADABLE_BODY);
  }
  return parsed as Record<string, unknown>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

function setSpaceCookie(
  req: IncomingMessage,
  res: ServerResponse,
  spaceId: SpaceId,
  token: string,
): void {
  const attributes = [
    `${spaceCookieName(spaceId)}=${token}`,
    `Path=/sync/${spaceId}`,
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${COOKIE_MAX_AGE_SECONDS}`,
  ];
  if (isTls(req)) attributes.push('Secure');
  res.setHeader('Set-Cookie', attributes.join('; '));
}
