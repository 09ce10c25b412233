import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { BlockList } from 'node:net';
import { isIP } from 'node:net';

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

const familyOf = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** Whether an address is in the deny list (BlockList matches IPv4-mapped IPv6 as IPv4). */
export function isDenied(address: string, deny: BlockList): boolean {
  return deny.check(address, familyOf(address));
}

/**
 * A DNS lookup for http.request that refuses addresses in the deny list. Checking the address the
 * connection really uses (not the name beforehand) also defeats DNS rebinding.
 */
export function guardedLookup(deny: BlockList) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      const denied = list.find((a) => isDenied(a.address, deny));
      if (denied) {
        const refusal: NodeJS.ErrnoException = new Error(
          `${hostname} resolves to ${denied.address}, a denied address`,
        );
        refusal.code = 'EADDRNOTALLOWED';
        return callback(refusal, []);
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      callback(null, first?.address ?? '', first?.family ?? 4);
    });
  };
}

/** Whether a URL's host is a literal address in the deny list, or `localhost` while loopback is denied. */
export function isDeniedUrl(url: string, deny: BlockList): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return true;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return isDenied('127.0.0.1', deny);
  return isIP(host) !== 0 && isDenied(host, deny);
}
