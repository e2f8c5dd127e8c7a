import { describe, expect, it } from 'vitest';
import { LocalStoreError, LocalStoreErrorReason, toLocalStoreError } from './LocalStoreError.js';

describe('toLocalStoreError', () => {
  it.each([
    ['QuotaExceededError', LocalStoreErrorReason.quota],
    ['VersionError', LocalStoreErrorReason.blocked],
    ['ConstraintError', LocalStoreErrorReason.corrupt],
    ['DataCloneError', LocalStoreErrorReason.corrupt],
    ['NotFoundError', LocalStoreErrorReason.corrupt],
    ['OperationError', LocalStoreErrorReason.corrupt],
    ['SecurityError', LocalStoreErrorReason.unavailable],
    ['InvalidStateError', LocalStoreErrorReason.unavailable],
    ['UnknownError', LocalStoreErrorReason.unavailable],
  ])('reads a %s as %s, keeping the original as its cause', (name, reason) => {
    const cause = new DOMException('from the browser', name);
    const error = toLocalStoreError(cause);
    expect(error.reason).toBe(reason);
    expect(error.cause).toBe(cause);
  });

  it('passes a LocalStoreError through unchanged', () => {
    const original = new LocalStoreError(LocalStoreErrorReason.blocked);
    expect(toLocalStoreError(original)).toBe(original);
  });

  it('says what happened and what to do, in words without codes', () => {
    for (const reason of Object.values(LocalStoreErrorReason)) {
      const { message } = new LocalStoreError(reason);
      expect(message).toMatch(/^[A-Z][^_{}]+\.$/);
      expect(message).not.toMatch(/IndexedDB|Error|undefined/);
    }
  });
});
