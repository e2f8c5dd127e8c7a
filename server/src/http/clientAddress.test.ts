import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { addressKey, clientAddressKey } from './clientAddress.js';

function request(remoteAddress: string | undefined, forwardedFor?: string | string[]) {
  return {
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('the client address key', () => {
  it('is the IPv4 address itself', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::FFFF:cb00:7107')).toBe('203.0.113.7');
  });

  it('groups IPv6 addresses by their /64, however they are written', () => {
    const key = addressKey('2001:db8:1:2::1');
    expect(key).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe(key);
    expect(addressKey('[2001:db8:1:2:abcd::9]')).toBe(key);
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(key);
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });

  it('puts unreadable addresses together under one key', () => {
    expect(addressKey('')).toBe('unknown');
    expect(addressKey('not an address')).toBe('unknown');
  });

  it('ignores X-Forwarded-For unless the proxy is trusted', () => {
    expect(clientAddressKey(request('127.0.0.1', '198.51.100.1'), false)).toBe('127.0.0.1');
  });

  it('takes the last X-Forwarded-For entry behind a trusted proxy, not one the client wrote', () => {
    const req = request('127.0.0.1', '10.0.0.1, 198.51.100.1,  198.51.100.2');
    expect(clientAddressKey(req, true)).toBe('198.51.100.2');
    expect(clientAddressKey(request('127.0.0.1', ['10.0.0.1', '198.51.100.3']), true)).toBe(
      '198.51.100.3',
    );
    expect(clientAddressKey(request('127.0.0.1', '10.0.0.1, 2001:db8::5'), true)).toBe(
      '2001:db8:0:0::/64',
    );
  });

  it('falls back to the socket address when a trusted proxy sent no usable header', () => {
    expect(clientAddressKey(request('::ffff:127.0.0.1'), true)).toBe('127.0.0.1');
    expect(clientAddressKey(request('127.0.0.1', 'garbage'), true)).toBe('127.0.0.1');
    expect(clientAddressKey(request(undefined), false)).toBe('unknown');
  });
});
