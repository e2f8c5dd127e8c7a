import type { SealedSession } from './SealedSession.js';

/** How waiting for this device to be in its seat ended. */
export type Admission = 'in' | 'out' | 'cancelled';

/**
 * Resolves once this device's log lists it in its seat (`in`); once it cannot get there (`out`:
 * synced, not listed, and no member statement of its own on its way, `SealedProvider.announcing`);
 * or when `signal` aborts (`cancelled`). A device that has just synced may still wait for its own
 * statement: the server's acknowledgement, or, with several nodes, what another node stored just
 * before it. What was waited for is said by each caller's own error.
 */
export function admission(
  session: Pick<SealedSession, 'membership' | 'provider' | 'replica'>,
  signal: AbortSignal | undefined,
): Promise<Admission> {
  const { provider, replica, membership } = session;
  const me = membership.identity.signing.publicKey;
  const events = ['receipt', 'status', 'waiting', 'set-aside'] as const;
  return new Promise((resolve) => {
    const on = provider.on.bind(provider) as (name: string, f: () => void) => void;
    const off = provider.off.bind(provider) as (name: string, f: () => void) => void;
    const done = (answer: Admission) => {
      for (const name of events) off(name, check);
      signal?.removeEventListener('abort', onAbort);
      resolve(answer);
    };
    const check = () => {
      if (replica.partnerOf(me) === membership.partnerId) done('in');
      else if (provider.synced && !provider.announcing) done('out');
    };
    const onAbort = () => done('cancelled');
    if (signal?.aborted) return onAbort();
    for (const name of events) on(name, check);
    signal?.addEventListener('abort', onAbort, { once: true });
    check();
  });
}
