import { PartnerIdSchema, SpaceIdSchema, type SpaceId } from '@mend/protocol';
import * as v from 'valibot';

/**
 * The Mend HTTP API as the browser uses it. The create and join responses carry a `token`; it is
 * deliberately never read: the server also sets it as an HttpOnly cookie scoped to
 * `/sync/<spaceId>`, so page scripts never hold it (docs/api.md, The space's cookie).
 */

const JoinedSchema = v.object({ spaceId: SpaceIdSchema, partnerId: PartnerIdSchema });
const ErrorSchema = v.object({ error: v.string() });

export type Joined = v.InferOutput<typeof JoinedSchema>;

/** Why a request did not work, in words a person can act on. */
export type ApiProblem = {
  kind:
    'unknown-space' | 'bad-input' | 'wrong-code' | 'already-used' | 'busy' | 'offline' | 'server';
  message: string;
};

export type ApiResult<T> = { ok: true; value: T } | { ok: false; problem: ApiProblem };

export const OFFLINE: ApiProblem = {
  kind: 'offline',
  message:
    'Cannot reach Mend right now. Check your internet connection and try again; nothing was lost.',
};

async function post(path: string, body: unknown): Promise<Response | null> {
  try {
    return await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    return null;
  }
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

export function problemFor(status: number, body: unknown, action: 'create' | 'join'): ApiProblem {
  const serverMessage = v.is(ErrorSchema, body) ? body.error : undefined;
  switch (status) {
    case 400:
      return { kind: 'bad-input', message: serverMessage ?? 'Please check what you typed.' };
    case 403:
      return {
        kind: 'wrong-code',
        message:
          'This invite link is not complete or not right. Ask your partner to send the whole link again.',
      };
    case 404:
      return {
        kind: 'unknown-space',
        message:
          'This invite link points to a space that does not exist. It may have been deleted. Ask your partner for a new link.',
      };
    case 409:
      // The server says which of the reasons it is (opened on another device, two people in
      // already, a link made before the space was sealed) in words a person can read.
      return {
        kind: 'already-used',
        message:
          serverMessage ??
          'This invite link has already been used: the space already has two people. If that was you on another device, open Mend there. Otherwise, talk to your partner.',
      };
    case 429:
      return {
        kind: 'busy',
        message: 'Too many tries in a short time. Please wait a minute and try again.',
      };
    default:
      return {
        kind: 'server',
        message:
          action === 'create'
            ? 'Something went wrong on the server while creating your space. Please try again in a moment.'
            : 'Something went wrong on the server while joining. Please try again in a moment.',
      };
  }
}

export async function joinSpace(
  spaceId: SpaceId,
  input: { inviteCode: string; displayName: string },
): Promise<ApiResult<Joined>> {
  const response = await post(`/api/spaces/${encodeURIComponent(spaceId)}/join`, input);
  if (!response) return { ok: false, problem: OFFLINE };
  const body = await readJson(response);
  if (response.status !== 201)
    return { ok: false, problem: problemFor(response.status, body, 'join') };
  const parsed = v.safeParse(JoinedSchema, body);
  if (!parsed.success) return { ok: false, problem: problemFor(500, body, 'join') };
  return { ok: true, value: parsed.output };
}
