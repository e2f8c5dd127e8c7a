import { describe, expect, it } from 'vitest';
import { addDays, daysBetween } from './dates.js';
import { ModelError, ModelErrorCode, isModelError } from './errors.js';
import { textFingerprint } from './fingerprint.js';
import { isId, randomId } from './ids.js';
import { Operation, Origin, isModelOrigin } from './origin.js';
import { codeOf } from './testing/fixtures.js';
import { isIsoDate } from './validate.js';

describe('ids', () => {
  it('random ids are 22 URL-safe characters and do not repeat', () => {
    const ids = new Set(Array.from({ length: 1000 }, randomId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(isId(id) && id.length === 22).toBe(true);
  });

  it('isId accepts the contract’s id shape only', () => {
    expect(isId('abcdefghijklmnop')).toBe(true);
    expect(isId('abcdefghijklmno')).toBe(false);
    expect(isId('abcdefghijklmnop/')).toBe(false);
    expect(isId(42)).toBe(false);
  });
});

describe('dates', () => {
  it('accepts real calendar days only', () => {
    expect(isIsoDate('2028-02-29')).toBe(true);
    expect(isIsoDate('2026-02-29')).toBe(false);
    expect(isIsoDate('2026-11-31')).toBe(false);
    expect(isIsoDate('2026-1-01')).toBe(false);
    expect(isIsoDate(20261101)).toBe(false);
  });

  it('adds days across months and lists a window inclusively', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(daysBetween('2026-10-30', '2026-11-02')).toEqual([
      '2026-10-30',
      '2026-10-31',
      '2026-11-01',
      '2026-11-02',
    ]);
    expect(daysBetween('2026-11-02', '2026-11-01')).toEqual([]);
    expect(codeOf(() => addDays('2026-11-02', 0.5))).toBe(ModelErrorCode.invalidArgument);
  });
});

describe('errors and origins', () => {
  it('a ModelError carries its code and is recognisable', () => {
    const error = new ModelError(ModelErrorCode.notFound, 'gone');
    expect(isModelError(error)).toBe(true);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('not-found');
    expect(isModelError(new Error('x'))).toBe(false);
  });

  it('there is one frozen origin per operation', () => {
    for (const op of Object.values(Operation)) {
      expect(Origin[op]).toEqual({ source: 'mend-model', op });
      expect(Object.isFrozen(Origin[op])).toBe(true);
      expect(isModelOrigin(Origin[op])).toBe(true);
    }
    expect(isModelOrigin({ op: 'x' })).toBe(false);
  });

  it('text fingerprints differ for different texts', () => {
    expect(textFingerprint('a')).not.toBe(textFingerprint('b'));
  });
});
