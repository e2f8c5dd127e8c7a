// Test support only (excluded from the build): the platform's WebCrypto made slow.
import { vi } from 'vitest';

/**
 * Each of the platform's signatures waits `delay` ms first (or `delay()`, asked each time), as
 * on a busy phone; restored by `vi.restoreAllMocks()`.
 */
export function slowPlatformSigning(delay: number | (() => number)) {
  const subtle = globalThis.crypto.subtle;
  const real = subtle.sign.bind(subtle);
  return vi.spyOn(subtle, 'sign').mockImplementation(async (...args) => {
    const ms = typeof delay === 'number' ? delay : delay();
    await new Promise((resolve) => setTimeout(resolve, ms));
    return real(...args);
  });
}
