import type { IncomingMessage, ServerResponse } from 'node:http';
import { fieldMessage, isRequestField, spaceCookieName, type SpaceId } from '@mend/protocol';
import * as v from 'valibot';
import type { Config } from '../config.js';
import { readBody } from './requestBody.js';

/**
 * What every API route shares at the edge: the error that becomes a status, reading and parsing
 * a JSON body, answering, and the space's cookie (docs/api.md).
 */

/** A body that is not a JSON object: the app sent it wrong, so the person may simply retry. */
const UNREADABLE_BODY = 'Something went wrong sending this. Please try again; nothing was lost.';

/** 400 days, the longest lifetime browsers honour. */
const COOKIE_MAX_AGE_SECONDS = 34_560_000;

/** A refusal the edge answers as `{"error": message}` with `status`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A body left unread (refused before it was read): close the connection after answering. */
export const UNREAD = { Connection: 'close' };

export function allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) {
    throw new HttpError(405, 'This method is not allowed here.', { Allow: allowed.join(', ') });
  }
}

export function parseBody<S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, body);
  if (result.success) return result.output;
  const issue = result.issues[0];
  // The request's own field, also for one nested in it (a seal's devices or invite).
  const key: unknown = issue?.path?.[0]?.key;
  const field = typeof key === 'string' ? key : null;
  // Valibot words a missing key its own way; say the same as for a field that is not text.
  const missing = issue?.received === 'undefined';
  throw new HttpError(
    400,
    missing && isRequestField(field) ? fieldMessage[field] : (issue?.message ?? UNREADABLE_BODY),
  );
}

/**
 * A request about one space that takes no credentials (a join, a welcome, a link's claim, a
 * recovery): counted against the address's allowance, the space looked up before the body's
 * 408/413/400 (so an unknown space is 404 whatever was sent), then the body parsed.
 */
export async function spaceRequest<S extends v.GenericSchema, Space>(
  req: IncomingMessage,
  rawSpaceId: string,
  schema: S,
  deps: {
    readonly rateLimit: (req: IncomingMessage) => void;
    readonly config: Config;
    readonly spaces: { find(rawSpaceId: string): Promise<Space> };
  },
): Promise<{ space: Space; body: v.InferOutput<S> }> {
  deps.rateLimit(req);
  const raw = await readJsonOrError(req, deps.config);
  const space = await deps.spaces.find(rawSpaceId);
  if (raw instanceof HttpError) throw raw;
  return { space, body: parseBody(schema, raw) };
}

/** Like readJson, but hands a body error back instead of throwing (a 404 comes first). */
export async function readJsonOrError(
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

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

export async function readJson(
  req: IncomingMessage,
  config: Config,
  limits: BodyLimits = {
    maxBytes: config.limits.maxRequestBodyBytes,
    timeoutMs: config.limits.bodyTimeoutMs,
  },
): Promise<Record<string, unknown>> {
  const body = await readBody(req, limits.maxBytes, limits.timeoutMs);
  // The rest of the body may still be on its way: close the connection after answering,
  // rather than read it.
  if (body === 'too-large') {
    throw new HttpError(413, 'This request is too large.', { Connection: 'close' });
  }
  if (body === 'too-slow') {
    throw new HttpError(
      408,
      'This request took too long to arrive. Please check your connection and try again.',
      { Connection: 'close' },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, UNREADABLE_BODY);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, UNREADABLE_BODY);
  }
  return parsed as Record<string, unknown>;
}

/** Characters of unpadded base64url for `bytes` bytes. */
export function base64UrlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function setSpaceCookie(
  res: ServerResponse,
  spaceId: SpaceId,
  token: string,
  secure: boolean,
): void {
  const attributes = [
    `${spaceCookieName(spaceId)}=${token}`,
    `Path=/sync/${spaceId}`,
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${COOKIE_MAX_AGE_SECONDS}`,
  ];
  if (secure) attributes.push('Secure');
  res.setHeader('Set-Cookie', attributes.join('; '));
}

/** Tells the browser to drop the space's cookie (same name, path and flags as when it was set). */
export function expireSpaceCookie(res: ServerResponse, spaceId: SpaceId, secure: boolean): void {
  const attributes = [
    `${spaceCookieName(spaceId)}=`,
    'Max-Age=0',
    `Path=/sync/${spaceId}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (secure) attributes.push('Secure');
  res.setHeader('Set-Cookie', attributes.join('; '));
}
