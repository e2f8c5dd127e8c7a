// Loaded on demand by the start and join pages: the sealed client's crypto is not first-load code.
import type { PartnerId, SpaceId } from '@mend/protocol';
import {
  createSealedSpace,
  joinSealedSpace,
  SealedApiError,
  SealedError,
  SealedSession,
  type SealedMembership,
} from '@mend/sealed';
import { OFFLINE, problemFor, type ApiProblem, type ApiResult } from './api.js';

/**
 * Creating and joining a sealed space from the browser: the keys are made here, kept in this
 * device's IndexedDB (sealed at rest), and the server gets only public keys and boxes
 * (docs/protocol.md). The token in the answers is never kept by the page: the server also sets
 * it as the space's HttpOnly cookie (docs/api.md, The space's cookie).
 */

const NO_STORAGE: ApiProblem = {
  kind: 'bad-input',
  message:
    'This browser will not let Mend keep the keys of a private space on this device (some private windows do this). Please open this page in a normal window.',
};

const BAD_INVITE: ApiProblem = {
  kind: 'wrong-code',
  message:
    'This invite link is not complete or not right. Ask your partner to send the whole link again.',
};

export async function createSealed(): Promise<
  ApiResult<{ spaceId: SpaceId; partnerId: PartnerId; inviteSecret: string }>
> {
  if (!(await canKeepKeys())) return { ok: false, problem: NO_STORAGE };
  const made = await attempt('create', () => createSealedSpace());
  if (!made.ok) return made;
  const kept = await keep(made.value);
  if (!kept.ok) return kept;
  const { spaceId, partnerId, inviteSecret } = made.value;
  return { ok: true, value: { spaceId, partnerId, inviteSecret } };
}

export async function joinSealed(
  spaceId: SpaceId,
  inviteSecret: string,
): Promise<ApiResult<{ spaceId: SpaceId; partnerId: PartnerId }>> {
  // Checked first: the invite works once, and keys that cannot be kept would waste it.
  if (!(await canKeepKeys())) return { ok: false, problem: NO_STORAGE };
  const joined = await attempt('join', () => joinSealedSpace(spaceId, inviteSecret));
  if (!joined.ok) return joined;
  const kept = await keep(joined.value);
  if (!kept.ok) return kept;
  return { ok: true, value: { spaceId: joined.value.spaceId, partnerId: joined.value.partnerId } };
}

async function attempt<T>(
  action: 'create' | 'join',
  request: () => Promise<T>,
): Promise<ApiResult<T>> {
  try {
    return { ok: true, value: await request() };
  } catch (error) {
    if (error instanceof SealedApiError) {
      return { ok: false, problem: problemFor(error.status, { error: error.message }, action) };
    }
    // The welcome box did not open with the link's secret, or names another creator.
    if (error instanceof SealedError) return { ok: false, problem: BAD_INVITE };
    // fetch rejects with a TypeError when the network is down.
    if (error instanceof TypeError) return { ok: false, problem: OFFLINE };
    throw error;
  }
}

async function keep(membership: SealedMembership): Promise<ApiResult<null>> {
  try {
    await SealedSession.saveMembership(membership);
    return { ok: true, value: null };
  } catch {
    return { ok: false, problem: NO_STORAGE };
  }
}

/** Whether this browser lets a page keep an IndexedDB database (not all private windows do). */
async function canKeepKeys(): Promise<boolean> {
  if (typeof indexedDB === 'undefined') return false;
  const name = 'mend-probe';
  try {
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.open(name);
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
      request.onerror = () => reject(request.error ?? new Error('IndexedDB refused'));
      request.onblocked = () => resolve();
    });
    indexedDB.deleteDatabase(name);
    return true;
  } catch {
    return false;
  }
}
