import { request } from 'node:http';
import type { Config } from '../config.ts';
import { openStore } from '../src/store/open.ts';
import type { ProxyProcess } from '../test/support/proxy-process.ts';

/** Downloads one response to nowhere, counting its bytes. */
function drain(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve(bytes));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Several clients stream a large body at once; reports the proxy's peak RSS and what it metered. */
export async function streamThrough(options: {
  url: string;
  headers: Record<string, string>;
  clients: number;
  proxy: ProxyProcess;
  database: Config['database'];
  apiKey: string;
}) {
  const store = await openStore(options.database);
  const before = (await store.getUsage(options.apiKey))?.pending ?? 0;
  let peak = options.proxy.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, options.proxy.rss());
  }, 20);
  const started = performance.now();
  try {
    const sizes = await Promise.all(
      Array.from({ length: options.clients }, () => drain(options.url, options.headers)),
    );
    const seconds = (performance.now() - started) / 1000;
    const metered = ((await store.getUsage(options.apiKey))?.pending ?? 0) - before;
    return {
      bytes: sizes.reduce((a, b) => a + b, 0),
      seconds,
      peakRssMb: peak / 1048576,
      meteredMb: metered,
    };
  } finally {
    clearInterval(sampler);
    await store.close();
  }
}
