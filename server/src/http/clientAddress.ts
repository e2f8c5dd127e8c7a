import type { IncomingMessage } from 'node:http';
import { isIP, isIPv4 } from 'node:net';

/**
 * Who a request counts against in per-address limits: an IPv4 address, or the /64 prefix of an
 * IPv6 address written as `xxxx:xxxx:xxxx:xxxx::/64`. One home network or phone usually holds a
 * whole /64 and can pick any address in it, so limiting single IPv6 addresses would limit nothing.
 */
export type AddressKey = string & { readonly __brand: 'AddressKey' };

/** Requests whose address cannot be read share one key rather than escaping every limit. */
const UNKNOWN = 'unknown' as AddressKey;

/**
 * The address key of the client behind `req`. With `trustProxy`, the last X-Forwarded-For entry
 * counts: the one our own reverse proxy appended. Earlier entries come from the client and can
 * say anything. Without `trustProxy` the header is ignored for the same reason.
 */
export function clientAddressKey(req: IncomingMessage, trustProxy: boolean): AddressKey {
  if (trustProxy) {
    const forwarded = lastForwardedFor(req.headers['x-forwarded-for']);
    if (forwarded !== null) {
      const key = addressKey(forwarded);
      if (key !== UNKNOWN) return key;
    }
  }
  return addressKey(req.socket.remoteAddress ?? '');
}

/** The key of one textual address; an IPv4-mapped IPv6 address counts as its IPv4 address. */
export function addressKey(address: string): AddressKey {
  const bare = address.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(bare)) return bare as AddressKey;
  const groups = ipv6Groups(bare.replace(/%.*$/, ''));
  if (groups === null) return UNKNOWN;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.') as AddressKey;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64` as AddressKey;
}

/** Node joins repeated X-Forwarded-For headers with ", ", so one split covers both forms. */
function lastForwardedFor(header: string | string[] | undefined): string | null {
  const joined = Array.isArray(header) ? header.join(',') : header;
  if (joined === undefined) return null;
  const entries = joined
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  return entries.at(-1) ?? null;
}

/** The eight 16-bit groups of an IPv6 address (with `::` and a trailing IPv4 part), or null. */
function ipv6Groups(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
    text = `${text.slice(0, -dotted.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((group) => parseInt(group, 16));
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}
