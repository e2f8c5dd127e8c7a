import { fromBase64Url, toBase64Url } from '../bytes.js';
import { openEpochBox } from '../epochBox.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import type { EpochPayload } from '../payloads.js';
import { COOKIE_TOKEN } from './cookieToken.js';
import { again, get, put, type ApiOptions } from './http.js';
import type { CandidateKey } from './replicaKeys.js';
import type { SealedMembership } from './sealedSpaces.js';

/*
 * Epoch boxes left with the server (docs/protocol.md, "Catching up across a key change";
 * docs/api.md, "Epoch boxes"): the device that wrote an epoch statement leaves every staying
 * device's box there, so a device that was away when the statement was compacted into a
 * snapshot can still reach the key. A box from the server is only a candidate: the replica
 * takes its key only through the signed statement the snapshot carries.
 */

type Credentials = Pick<SealedMembership, 'spaceId' | 'token'>;

/** `/sync/:spaceId/epoch-boxes` with the page's cookie, else the Bearer path. */
function epochBoxesPath({ spaceId, token }: Credentials): string {
  const space = encodeURIComponent(spaceId);
  return token === COOKIE_TOKEN
    ? `/sync/${space}/epoch-boxes`
    : `/api/sealed-spaces/${space}/epoch-boxes`;
}

function bearer({ token }: Credentials): string | null {
  return token === COOKIE_TOKEN ? null : token;
}

/**
 * `PUT …/epoch-boxes` `{epoch, boxes: [{signingKey, box}]}` (base64url): the boxes of an epoch
 * statement this device wrote, once the server stored it. A lost answer is sent again (the
 * server keeps one copy); rejects with a SealedApiError or a TypeError (no network).
 */
export async function leaveEpochBoxes(
  membership: Credentials,
  statement: Pick<EpochPayload, 'epoch' | 'boxes'>,
  options: ApiOptions = {},
): Promise<void> {
  const body = {
    epoch: statement.epoch,
    boxes: statement.boxes.map((b) => ({
      signingKey: toBase64Url(b.signingKey),
      box: toBase64Url(b.box),
    })),
  };
  await again(options, () => put(options, epochBoxesPath(membership), body, bearer(membership)));
}

/**
 * `GET …/epoch-boxes`: this device's boxes, each opened with its agreement key, as candidate
 * keys. A box that does not open, or names another space or epoch than it is listed with, is
 * no candidate. Rejects with a SealedApiError, a TypeError (no network) or a SealedError
 * (`malformed`) for an answer that does not read.
 */
export async function fetchCandidateKeys(
  membership: Pick<SealedMembership, 'spaceId' | 'token' | 'identity'>,
  options: ApiOptions = {},
): Promise<CandidateKey[]> {
  const answer = await again(options, () =>
    get<unknown>(options, epochBoxesPath(membership), bearer(membership)),
  );
  const candidates: CandidateKey[] = [];
  for (const { epoch, box } of readBoxes(answer)) {
    const spaceKey = openEpochBox(membership.identity.agreement, box, {
      spaceId: membership.spaceId,
      epoch,
    });
    if (!(spaceKey instanceof SealedError)) candidates.push({ epoch, spaceKey });
  }
  return candidates;
}

/** `{boxes: [{epoch, box}]}`, read strictly. */
function readBoxes(answer: unknown): { epoch: number; box: Uint8Array }[] {
  const boxes = (answer as { boxes?: unknown } | null)?.boxes;
  if (!Array.isArray(boxes)) throw unreadable();
  return boxes.map((entry: unknown) => {
    const { epoch, box } = (entry ?? {}) as { epoch?: unknown; box?: unknown };
    if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1) throw unreadable();
    if (typeof box !== 'string') throw unreadable();
    try {
      return { epoch, box: fromBase64Url(box) };
    } catch (error) {
      if (!(error instanceof SealedError)) throw error;
      throw unreadable();
    }
  });
}

function unreadable(): SealedError {
  return new SealedError(
    SealedErrorReason.malformed,
    'The server’s answer about new keys left for this device does not read.',
  );
}
