// Loaded on demand (SealedSession.open): only a device that still keeps its signing key's bytes
// needs it, once per space.
import { equalBytes } from '../bytes.js';
import { platformSigningKeys } from '../crypto.js';
import type { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import { encodeMembership, readMembership, type StoredMembership } from './membershipCodec.js';
import type { SealedMembership } from './sealedSpaces.js';

/**
 * Hands a device's signing key to the platform, where it has Ed25519 (docs/security.md, "Keys on
 * the device"): imported non-extractable and checked against noble, the platform's key is stored
 * and the secrets without the key's bytes replace the stored ones, in one transaction. Tabs doing
 * it at once all end with the first key stored. Resolves with the membership as stored then and
 * its key, or null when the bytes stay (no Ed25519 here, or the stored secrets kept them).
 */
export async function handSigningKeyOver(
  store: LocalSpaceStore,
  membership: SealedMembership,
): Promise<{ membership: StoredMembership; signingKey: CryptoKey } | null> {
  const held = await platformSigningKeys(membership.identity.signing);
  if (held === null) return null;
  const stored = await store.keepSigningKey(held.platformKey!, (current) => {
    const m = current && readMembership(current);
    const same = m && equalBytes(m.identity.signing.publicKey, held.publicKey);
    return same && m.identity.signing.secretKey !== null && m.seatSecret !== null
      ? encodeMembership({
          ...m,
          seatSecret: m.seatSecret,
          identity: { ...m.identity, signing: held },
        })
      : null;
  });
  const now = stored.secrets && readMembership(stored.secrets);
  if (!now || now.identity.signing.secretKey !== null || !stored.signingKey) return null;
  return { membership: now, signingKey: stored.signingKey };
}
