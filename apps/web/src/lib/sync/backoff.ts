import { CloseCode } from '@mend/protocol';

/**
 * How long to wait before reconnect attempt number `attempt` (1 for the first retry): exponential
 * from `baseMs` up to `maxMs`, with "equal jitter" (half fixed, half random) so that many devices
 * dropped by one server restart do not all knock again at the same instant.
 */
export function reconnectDelay(
  attempt: number,
  random: () => number = Math.random,
  baseMs = 500,
  maxMs = 30_000,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** What a dropped sync socket leads to. */
export type AfterClose = 'deleted' | 'revoked' | 'full' | 'ask-server' | 'retry';

/**
 * Decides what follows a closed sync socket. "This space no longer exists" (4404) and "this
 * device was removed" (4401) are final.
 * "This space is full" (4507) stops the automatic retries: every new connection would send the
 * refused change again and be closed again, so the device keeps its copy and waits for a person
 * to try again (after the operator made room). A socket refused before it opened looks like any
 * network failure to a page (1006), so the app asks the server plainly whether this device still
 * belongs there. Anything else — including the server refusing something this device sent
 * (4400, 4413) — keeps the local copy and retries with backoff.
 */
export function afterClose(
  code: number | undefined,
  wasOpened: boolean,
  online: boolean,
): AfterClose {
  if (code === CloseCode.spaceGone) return 'deleted';
  // Removed from the space (Settings on this or another device): asking again would only be
  // refused, so say it at once.
  if (code === CloseCode.revoked) return 'revoked';
  if (code === CloseCode.spaceFull) return 'full';
  if (!wasOpened && online) return 'ask-server';
  return 'retry';
}
