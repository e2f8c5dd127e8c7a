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
