import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { fieldMessage } from './api.js';
import {
  CreateSealedSpaceRequest,
  JoinSealedSpaceRequest,
  MAX_WELCOME_BYTES,
  encodeBase64Url,
} from './sealedApi.js';

const key = (fill: number): string => encodeBase64Url(new Uint8Array(32).fill(fill));
const valid = {
  signingKey: key(1),
  agreementKey: key(2),
  inviteCode: encodeBase64Url(new Uint8Array(16).fill(3)),
  welcome: encodeBase64Url(new Uint8Array(100).fill(4)),
};

function issue(body: unknown): string | undefined {
  const result = v.safeParse(CreateSealedSpaceRequest, body);
  return result.success ? undefined : result.issues[0]?.message;
}

describe('sealed space requests', () => {
  it('decode keys and the welcome box into bytes', () => {
    const parsed = v.parse(CreateSealedSpaceRequest, valid);
    expect(parsed.signingKey).toEqual(new Uint8Array(32).fill(1));
    expect(parsed.agreementKey).toEqual(new Uint8Array(32).fill(2));
    expect(parsed.welcome).toEqual(new Uint8Array(100).fill(4));
    expect(parsed.inviteCode).toBe(valid.inviteCode);
    expect(v.parse(JoinSealedSpaceRequest, valid).signingKey).toEqual(parsed.signingKey);
  });

  it('refuse a key of the wrong length, with padding, or with stray trailing bits', () => {
    const short = encodeBase64Url(new Uint8Array(31));
    const stray = `${key(0).slice(0, 42)}B`;
    for (const signingKey of [short, `${key(1)}=`, stray, '', 42]) {
      expect(issue({ ...valid, signingKey })).toBe(fieldMessage.signingKey);
    }
    expect(issue({ ...valid, agreementKey: key(1).slice(1) })).toBe(fieldMessage.agreementKey);
  });

  it('refuse an invite code that is not 22 base64url characters', () => {
    for (const inviteCode of [
      '',
      valid.inviteCode.slice(1),
      `${valid.inviteCode}A`,
      'x'.repeat(21) + '+',
    ]) {
      expect(issue({ ...valid, inviteCode })).toBe(fieldMessage.inviteCode);
    }
  });

  it('take a welcome box of up to 1 KiB, and no empty one', () => {
    const largest = encodeBase64Url(new Uint8Array(MAX_WELCOME_BYTES));
    const tooLarge = encodeBase64Url(new Uint8Array(MAX_WELCOME_BYTES + 1));
    expect(issue({ ...valid, welcome: largest })).toBeUndefined();
    expect(issue({ ...valid, welcome: tooLarge })).toBe(fieldMessage.welcome);
    expect(issue({ ...valid, welcome: '' })).toBe(fieldMessage.welcome);
  });
});
