import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { fieldMessage } from './api.js';
import {
  ClaimLinkRequest,
  ConfirmLinkRequest,
  CreateSealedSpaceRequest,
  JoinSealedSpaceRequest,
  MAX_LINK_BOX_BYTES,
  MAX_WELCOME_BYTES,
  OfferLinkRequest,
  encodeBase64Url,
  sealSpaceRequest,
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

describe('the seal request', () => {
  const schema = sealSpaceRequest(4096);
  const device = (fill: number, box?: number) => ({
    partnerId: `partner-${fill}`.padEnd(22, 'x'),
    signingKey: key(fill),
    agreementKey: key(fill + 1),
    ...(box === undefined ? {} : { box: encodeBase64Url(new Uint8Array(170).fill(box)) }),
  });
  const envelope = (size: number) => encodeBase64Url(new Uint8Array(size).fill(9));
  const seal = {
    devices: [device(1), device(3, 5)],
    envelopes: [envelope(200), envelope(4096)],
  };

  function sealIssue(body: unknown): string | undefined {
    const result = v.safeParse(schema, body);
    return result.success ? undefined : result.issues[0]?.message;
  }

  it('decodes keys, boxes, envelopes and the new invite into bytes', () => {
    const invite = { inviteCode: valid.inviteCode, welcome: valid.welcome };
    const parsed = v.parse(schema, { ...seal, invite });
    expect(parsed.devices[0]).toEqual({
      partnerId: seal.devices[0]?.partnerId,
      signingKey: new Uint8Array(32).fill(1),
      agreementKey: new Uint8Array(32).fill(2),
    });
    expect(parsed.devices[1]?.box).toEqual(new Uint8Array(170).fill(5));
    expect(parsed.envelopes.map((e) => e.byteLength)).toEqual([200, 4096]);
    expect(parsed.invite?.welcome).toEqual(new Uint8Array(100).fill(4));
    expect(v.parse(schema, seal).invite).toBeUndefined();
  });

  it('takes one or two devices, and exactly two envelopes of at most the given size', () => {
    expect(sealIssue({ ...seal, devices: [device(1)] })).toBeUndefined();
    for (const devices of [[], [device(1), device(3), device(5)], 'x']) {
      expect(sealIssue({ ...seal, devices })).toBe(fieldMessage.devices);
    }
    for (const envelopes of [
      [envelope(10)],
      [envelope(10), envelope(10), envelope(10)],
      [envelope(10), envelope(4097)],
      [envelope(10), ''],
      [envelope(10), `${envelope(10)}=`],
    ]) {
      expect(sealIssue({ ...seal, envelopes })).toBe(fieldMessage.envelopes);
    }
  });

  it('refuses a device entry with a bad partner id, key or box, in the words for devices', () => {
    const bad = [
      { ...device(1), partnerId: 'short' },
      { ...device(1), signingKey: key(1).slice(1) },
      { ...device(1), agreementKey: undefined },
      { ...device(1), box: encodeBase64Url(new Uint8Array(MAX_WELCOME_BYTES + 1)) },
      { ...device(1), box: '' },
    ];
    for (const entry of bad) {
      expect(sealIssue({ ...seal, devices: [entry] })).toBe(fieldMessage.devices);
    }
  });

  it('refuses a new invite without a proper code or welcome box', () => {
    for (const invite of [
      { inviteCode: 'short', welcome: valid.welcome },
      { inviteCode: valid.inviteCode, welcome: '' },
      { inviteCode: valid.inviteCode },
      'invite',
    ]) {
      expect(sealIssue({ ...seal, invite })).toBe(fieldMessage.invite);
    }
  });
});

describe('the device link requests', () => {
  const linkCode = encodeBase64Url(new Uint8Array(16).fill(7));
  const claim = { linkCode, claimCode: encodeBase64Url(new Uint8Array(16).fill(8)), ...valid };

  function linkIssue(schema: v.GenericSchema, body: unknown): string | undefined {
    const result = v.safeParse(schema, body);
    return result.success ? undefined : result.issues[0]?.message;
  }

  it('take a link code of 22 base64url characters, in the words for a link', () => {
    expect(v.parse(OfferLinkRequest, { linkCode })).toEqual({ linkCode });
    for (const bad of ['', linkCode.slice(1), `${linkCode}A`, 'x'.repeat(21) + '/', 7]) {
      expect(linkIssue(OfferLinkRequest, { linkCode: bad })).toBe(fieldMessage.linkCode);
      expect(linkIssue(ClaimLinkRequest, { ...claim, linkCode: bad })).toBe(fieldMessage.linkCode);
    }
  });

  it('decode a claim’s keys into bytes, and refuse a bad claim code or key', () => {
    const parsed = v.parse(ClaimLinkRequest, claim);
    expect(parsed.signingKey).toEqual(new Uint8Array(32).fill(1));
    expect(parsed.agreementKey).toEqual(new Uint8Array(32).fill(2));
    expect(parsed.claimCode).toBe(claim.claimCode);
    expect(linkIssue(ClaimLinkRequest, { ...claim, claimCode: 'short' })).toBe(
      fieldMessage.claimCode,
    );
    expect(linkIssue(ClaimLinkRequest, { ...claim, signingKey: key(1).slice(2) })).toBe(
      fieldMessage.signingKey,
    );
    expect(linkIssue(ClaimLinkRequest, { ...claim, agreementKey: `${key(2)}=` })).toBe(
      fieldMessage.agreementKey,
    );
  });

  it('take a link box of 1 byte to MAX_LINK_BOX_BYTES and a linkSeq that is a whole number from 1', () => {
    const box = (size: number) => encodeBase64Url(new Uint8Array(size).fill(9));
    const parsed = v.parse(ConfirmLinkRequest, { box: box(MAX_LINK_BOX_BYTES), linkSeq: 3 });
    expect(parsed.box.byteLength).toBe(MAX_LINK_BOX_BYTES);
    expect(parsed.linkSeq).toBe(3);
    for (const bad of [box(MAX_LINK_BOX_BYTES + 1), '', `${box(10)}=`, 12]) {
      expect(linkIssue(ConfirmLinkRequest, { box: bad, linkSeq: 3 })).toBe(fieldMessage.box);
    }
    for (const linkSeq of [0, -1, 1.5, '3', Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
      expect(linkIssue(ConfirmLinkRequest, { box: box(100), linkSeq })).toBe(fieldMessage.linkSeq);
    }
  });
});
