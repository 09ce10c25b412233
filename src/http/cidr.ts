import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** The addresses of a CIDR list (`10.0.0.0/8`, `::1/128`; a bare address means just itself). */
export function toBlockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix] = cidr.split('/');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (!family) throw new Error(`not an IP address: ${address}`);
    const bits = prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix);
    if (!/^\d+$/.test(prefix ?? '0') || bits > (family === 'ipv4' ? 32 : 128)) {
      throw new Error(`bad prefix length: ${cidr}`);
    }
    list.addSubnet(address, bits, family);
  }
  return list;
}

/** Whether a socket's remote address (IPv4-mapped IPv6 included) is in `list`. */
export function addressIn(list: BlockList, remoteAddress: string | undefined): boolean {
  const address = remoteAddress ?? '';
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return list.check(plain, plain.includes(':') ? 'ipv6' : 'ipv4');
}
