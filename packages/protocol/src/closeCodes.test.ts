import { describe, expect, it } from 'vitest';
import { CloseCode, closeReason } from './closeCodes.js';

describe('close reasons', () => {
  it('has a reason for every close code that fits a close frame (123 bytes of UTF-8)', () => {
    for (const code of Object.values(CloseCode)) {
      const reason = closeReason[code];
      expect(reason.length).toBeGreaterThan(0);
      expect(new TextEncoder().encode(reason).length).toBeLessThanOrEqual(123);
    }
  });
});
