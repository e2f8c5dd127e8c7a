import { readSealingKeys, type SealingKeys } from '@mend/model';
import type { PartnerId } from '@mend/protocol';
import type * as Y from 'yjs';
import { fromBase64Url, toBase64Url } from '../bytes.js';
import type { DeviceIdentity } from '../identity.js';

/** The public halves of `identity`, as `offerSealingKeys` in @mend/model writes them. */
export function sealingOffer(identity: DeviceIdentity): SealingKeys {
  return {
    signingKey: toBase64Url(identity.signing.publicKey),
    agreementKey: toBase64Url(identity.agreement.publicKey),
  };
}

/** A device the space key is boxed to: a partner's offer, decoded. */
export interface SealingDevice {
  readonly partnerId: PartnerId;
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
}

/**
 * What this device does next about sealing a plaintext space:
 * - `wait`: some partner (maybe this one: offer first) has no offer in the document yet;
 * - `not-mine`: this partner's offer names another device of theirs (it offered later, and the
 *   document keeps one offer a partner). This device must not convert: the other one will, or
 *   the other partner's, and this device then cannot open the box (a second device needs the
 *   devices of issue 13). Offering again would take the seat back and forth between the two;
 * - `convert`: every partner offered; `devices` lists each partner's offered device, in the
 *   order of `partners`, this device among them.
 * `partners` are the space's partners who are still in it (from the document); `me.partnerId`
 * must be one of them (a RangeError otherwise). An offer that is unreadable counts as none.
 */
export type ConversionPlan =
  | { readonly kind: 'wait'; readonly missing: readonly PartnerId[] }
  | { readonly kind: 'not-mine' }
  | { readonly kind: 'convert'; readonly devices: readonly SealingDevice[] };

export function conversionPlan(
  doc: Y.Doc,
  partners: readonly PartnerId[],
  me: { readonly partnerId: PartnerId; readonly identity: DeviceIdentity },
): ConversionPlan {
  if (!partners.includes(me.partnerId)) {
    throw new RangeError('The device’s partner is not one of the space’s partners.');
  }
  const offers = readSealingKeys(doc);
  const mine = offers.get(me.partnerId);
  const own = sealingOffer(me.identity);
  if (mine && (mine.signingKey !== own.signingKey || mine.agreementKey !== own.agreementKey)) {
    return { kind: 'not-mine' };
  }
  const missing = partners.filter((p) => !offers.has(p));
  if (missing.length > 0) return { kind: 'wait', missing };
  return {
    kind: 'convert',
    devices: partners.map((partnerId) => {
      const offer = offers.get(partnerId)!;
      return {
        partnerId,
        signingKey: fromBase64Url(offer.signingKey, 32),
        agreementKey: fromBase64Url(offer.agreementKey, 32),
      };
    }),
  };
}
