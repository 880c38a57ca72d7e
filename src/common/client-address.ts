import { isIPv4, isIPv6 } from 'node:net';

/**
 * What sign-ins are counted by: Fastify's `request.ip`, the client's address as far as `trustedProxies` vouch for it
 * (never an X-Forwarded-For that anyone else sent). IPv6 by its /64: a host or a subscriber usually holds a whole
 * /64, and counting each address would give it 2^64 budgets. An IPv4-mapped IPv6 address is its IPv4 address.
 */
export function clientAddress(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  const address = ip.split('%')[0];
  if (!isIPv6(address)) return ip;
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, `::` expanded, in canonical lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head, tail] = address.split('::');
  // A trailing dotted IPv4 part fills the last two groups: only its place matters here, never its value.
  const groups = (part: string | undefined) =>
    part === undefined || part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const left = groups(head);
  const right = groups(tail);
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}
