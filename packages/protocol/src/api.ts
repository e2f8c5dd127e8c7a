import { Limits } from '@mend/model';
import * as v from 'valibot';
import type { PartnerId, SpaceId } from './ids.js';

const codePoints = (s: string): number => [...s].length;

/**
 * What a person is told when a field of a create, a join, a seal or a device link is missing or
 * not what it should be. The web app shows these word for word.
 */
export const fieldMessage = {
  displayName: 'Please enter your name.',
  name: 'Please enter a name for your space, or leave it empty.',
  inviteCode:
    'This invite link is incomplete. Please ask your partner to send the whole link again.',
  signingKey: 'This device’s keys could not be read. Please reload the page and try again.',
  agreementKey: 'This device’s keys could not be read. Please reload the page and try again.',
  welcome: 'The invitation could not be prepared. Please reload the page and try again.',
  devices:
    'The keys of this space’s devices could not be read. Please reload the page and try again.',
  envelopes:
    'The encrypted copy of this space could not be read. Please reload the page and try again.',
  invite: 'The new invitation could not be prepared. Please reload the page and try again.',
  linkCode:
    'This link is incomplete. Please scan the code again, or copy the whole link from your other device.',
  claimCode: 'This device could not prepare the link. Please reload the page and try again.',
  box: 'The keys for the new device could not be prepared. Please try again.',
  linkSeq: 'The new device could not be written into this space’s record. Please try again.',
} as const;

/** Whether `field` is one of the request fields that fieldMessage speaks for. */
export function isRequestField(field: string | null): field is keyof typeof fieldMessage {
  return field !== null && Object.hasOwn(fieldMessage, field);
}

const DisplayName = v.pipe(
  v.string(fieldMessage.displayName),
  v.trim(),
  v.check((s) => s.length > 0, fieldMessage.displayName),
  v.check(
    (s) => codePoints(s) <= Limits.displayName,
    `Please use a name of at most ${Limits.displayName} characters.`,
  ),
);

/** Body of `POST /api/spaces`. */
export const CreateSpaceRequest = v.object({
  displayName: DisplayName,
  name: v.optional(
    v.pipe(
      v.string(fieldMessage.name),
      v.trim(),
      v.check(
        (s) => codePoints(s) <= Limits.spaceName,
        `Please use a space name of at most ${Limits.spaceName} characters.`,
      ),
      v.transform((s) => (s === '' ? null : s)),
    ),
  ),
});
export type CreateSpaceRequest = v.InferOutput<typeof CreateSpaceRequest>;

/** Body of `POST /api/spaces/:spaceId/join`. */
export const JoinSpaceRequest = v.object({
  inviteCode: v.string(fieldMessage.inviteCode),
  displayName: DisplayName,
});
export type JoinSpaceRequest = v.InferOutput<typeof JoinSpaceRequest>;

/** 201 answer to a create. */
export interface CreateSpaceResponse {
  spaceId: SpaceId;
  partnerId: PartnerId;
  token: string;
  inviteCode: string;
}

/** 201 answer to a join. */
export interface JoinSpaceResponse {
  spaceId: SpaceId;
  partnerId: PartnerId;
  token: string;
}

/**
 * 200 answer to `GET /sync/:spaceId` without an upgrade: who this credential is, and whether the
 * space is sealed (then also the device's signing key, base64url).
 */
export type SyncIdentityResponse =
  | { spaceId: SpaceId; partnerId: PartnerId; sealed: false }
  | { spaceId: SpaceId; partnerId: PartnerId; sealed: true; signingKey: string };

/** Every error answer of the API. */
export interface ErrorResponse {
  error: string;
}

/** Name of the HttpOnly cookie that carries a space's token (path `/sync/<spaceId>`). */
export function spaceCookieName(spaceId: SpaceId): string {
  return `mend_${spaceId}`;
}
