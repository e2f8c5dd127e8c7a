import type * as Y from 'yjs';
import { dayCheckin, checkinKey, isPrivatePart } from './checkins.js';
import { ModelError, ModelErrorCode } from './errors.js';
import type { CheckinKey, PartnerId } from './ids.js';
import { Origin } from './origin.js';
import { CheckinState, Limits, PrivateScope, type EpochMs, type IsoDate } from './schema.js';
import { requireInitialised, requirePartner, roots, setIfChanged } from './store.js';
import { requireEpochMs, requireInteger, requireIsoDate, requireOneOf } from './validate.js';

// Its own module, apart from checkins.ts: the app's first load writes open check-ins only, and a
// bundler keeps a module whole in one chunk, so this is loaded with the sealing, when needed.

interface PrivateCheckInCommon {
  readonly partnerId: PartnerId;
  readonly date: IsoDate;
  /** Sealed by @mend/sealed (`sealPrivateCheckin`) with the author's seat secret, base64url. */
  readonly sealed: string;
  readonly at: EpochMs;
}

export type PrivateCheckInInput = PrivateCheckInCommon &
  (
    | {
        /** The note is sealed; safety and state are shared. */
        readonly scope: typeof PrivateScope.note;
        readonly safety: number;
        readonly state: CheckinState;
      }
    | {
        /** Safety, state and note are sealed together. */
        readonly scope: typeof PrivateScope.checkin;
      }
  );

/**
 * The day's check-in, kept to its author: the note alone, or all of it. Whatever it sealed is
 * removed from the shared fields in the same change, so the other partner's devices receive only
 * the sealed text (SPEC.md 46). The model never sees the plaintext.
 */
export function checkInPrivately(doc: Y.Doc, input: PrivateCheckInInput): CheckinKey {
  requireInitialised(doc);
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const date = requireIsoDate(input.date, 'date');
  const scope = requireOneOf(input.scope, PrivateScope, 'scope');
  const part = { scope, sealed: input.sealed };
  if (!isPrivatePart(part)) {
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      'The sealed part of a private check-in must be base64url text.',
    );
  }
  const open =
    input.scope === PrivateScope.note
      ? {
          safety: requireInteger(input.safety, 'Felt safety', Limits.safetyMin, Limits.safetyMax),
          state: requireOneOf(input.state, CheckinState, 'state'),
        }
      : null;
  const at = requireEpochMs(input.at, 'at');
  const key = checkinKey(date, partnerId);
  const checkins = roots(doc).checkins;
  doc.transact(() => {
    const checkin = dayCheckin(checkins, key, date, partnerId, at);
    if (open) {
      setIfChanged(checkin, 'safety', open.safety);
      setIfChanged(checkin, 'state', open.state);
    } else {
      if (checkin.has('safety')) checkin.delete('safety');
      if (checkin.has('state')) checkin.delete('state');
    }
    setIfChanged(checkin, 'note', '');
    checkin.set('private', part);
    checkin.set('updatedAt', at);
  }, Origin.checkInPrivately);
  return key;
}
