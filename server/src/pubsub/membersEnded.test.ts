import { CloseCode } from '@mend/protocol';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { decodeMembersEnded, encodeMembersEnded } from './membersEnded.js';

function raw(code: number, members: string[], trailing: number[] = []): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, code);
  encoding.writeVarUint(e, members.length);
  for (const member of members) encoding.writeVarString(e, member);
  for (const byte of trailing) encoding.writeUint8(e, byte);
  return encoding.toUint8Array(e);
}

describe('the members-ended message between server processes', () => {
  it('carries a revoke and a seal as they were sent', () => {
    const revoke = { code: CloseCode.revoked, members: ['device:s:k', 'partner:s:p'] };
    const seal = { code: CloseCode.sealedNow, members: ['partner:s:a', 'partner:s:b'] };
    expect(decodeMembersEnded(encodeMembersEnded(revoke))).toEqual(revoke);
    expect(decodeMembersEnded(encodeMembersEnded(seal))).toEqual(seal);
  });

  it('refuses another close code, an empty member, a count beyond the bytes and trailing bytes', () => {
    expect(() => decodeMembersEnded(raw(CloseCode.serverError, ['partner:s:p']))).toThrow(
      'close code 1011',
    );
    expect(() => decodeMembersEnded(raw(CloseCode.revoked, ['']))).toThrow('garbled');
    expect(() => decodeMembersEnded(raw(CloseCode.revoked, ['partner:s:p'], [0]))).toThrow(
      'garbled',
    );
    const tooMany = raw(CloseCode.revoked, []);
    tooMany[tooMany.length - 1] = 100;
    expect(() => decodeMembersEnded(tooMany)).toThrow('garbled');
    expect(() => decodeMembersEnded(new Uint8Array())).toThrow();
  });
});
