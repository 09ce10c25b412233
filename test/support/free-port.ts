import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/*
 * Ports are chosen below the kernel's ephemeral range (ip_local_port_range, 32768-60999 by
 * default). A port from that range, free a moment ago, can be taken by any outgoing connection or
 * any listen(0) of the tests running beside this one before the caller binds it (seen: the sandbox
 * test's proxy failing with EADDRINUSE); below it, only an explicit bind takes one.
 */
function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/);
    const start = Number(low);
    return Number.isInteger(start) && start > 12_000 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

const FIRST = 10_000;
const LAST = ephemeralRangeStart() - 1;
const ATTEMPTS = 100;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port that was free on 127.0.0.1 a moment ago, outside the range the kernel hands out. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = FIRST + Math.floor(Math.random() * (LAST - FIRST + 1));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${FIRST}-${LAST} after ${ATTEMPTS} attempts`);
}
