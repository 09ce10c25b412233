/** What the A/B tools (ab.ts, gc-count.ts, instructions.ts) share: their variants and parties. */
import { join } from 'node:path';
import { defaultConfig } from '../config.ts';
import { freePort } from '../test/support/free-port.ts';
import { keyrockUser, startFakeIdm } from '../test/support/idm.ts';
import { databaseEnv } from '../test/support/proxy-process.ts';
import { startChild } from './processes.ts';
import { seedBenchStore } from './seed.ts';

/** Metrics and access log, each on and off (metrics are kept while the ops listener serves them). */
export const OBSERVABILITY_VARIANTS: Record<string, Record<string, string>> = {
  'both off': { ACCOUNTING_PROXY_OPS_PORT: '0', ACCOUNTING_PROXY_ACCESS_LOG: 'false' },
  'metrics only': { ACCOUNTING_PROXY_ACCESS_LOG: 'false' },
  'access log only': { ACCOUNTING_PROXY_OPS_PORT: '0' },
  'both on': {},
};

/** The variants an experiment names in `variable` (JSON: name → environment), else `defaults`. */
export const variantsFrom = (
  variable: string,
  defaults: Record<string, Record<string, string>> = OBSERVABILITY_VARIANTS,
): Record<string, Record<string, string>> => {
  const json = process.env[variable];
  return json ? (JSON.parse(json) as Record<string, Record<string, string>>) : defaults;
};

/** The buyer's headers for the seeded `call` buy. */
export const BUYER_HEADERS = { 'x-auth-token': 'buyer-token', 'x-api-key': 'key-call' };

/** The backend and the Keyrock stand-in every variant's proxy talks to. */
export async function startParties() {
  const { child: backend, port: backendPort } = await startChild('./backend.ts', {});
  const idm = await startFakeIdm();
  idm.users.set('buyer-token', keyrockUser('buyer', 'bench-app'));
  return {
    backendUrl: `http://127.0.0.1:${backendPort}`,
    idm,
    stop: async () => {
      backend.kill();
      await idm.close();
    },
  };
}

type Parties = Awaited<ReturnType<typeof startParties>>;

/**
 * The environment of one variant's proxy: a new seeded SQLite file in `dir`, the parties, tokens
 * cached for the whole run, an ops listener of its own (metrics are kept while it serves them),
 * then the variant's own settings.
 */
export async function variantEnv(
  dir: string,
  index: number,
  parties: Parties,
  env: Record<string, string>,
  seed: typeof seedBenchStore = seedBenchStore,
): Promise<Record<string, string>> {
  const database = { ...defaultConfig().database, name: join(dir, `${index}.sqlite`) };
  await seed(database, parties.backendUrl);
  return {
    ...databaseEnv(database),
    ACCOUNTING_PROXY_IDM_URL: parties.idm.url,
    ACCOUNTING_PROXY_TOKEN_CACHE_TTL: '3600',
    ACCOUNTING_PROXY_OPS_PORT: String(await freePort()),
    ...env,
  };
}
