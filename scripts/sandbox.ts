/**
 * `npm run sandbox`: the proxy with stand-ins for everything around it (the Keyrock IdM, an echo
 * backend, the marketplace's TMF635 usage API that prints every record it gets), set up the way
 * a provider and the marketplace set it up, reporting every few seconds — so a newcomer sees a
 * call become a usage record within a minute. The stand-ins are the tests' own (test/support/).
 * SANDBOX_PORT (default 9000) and SANDBOX_OPS_PORT (default 9091) move its ports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.ts';
import { createLogger } from '../src/log.ts';
import { startProxy } from '../src/server.ts';
import { startFakeBackend } from '../test/support/backend.ts';
import { keyrockUser, startFakeIdm } from '../test/support/idm.ts';
import { FakeUsageApi } from '../test/support/usage-server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const port = Number(process.env.SANDBOX_PORT ?? 9000);
const opsPort = Number(process.env.SANDBOX_OPS_PORT ?? 9091);
const APP = 'sandbox-app';
const BUYER_TOKEN = 'buyer-token';
const SELLER_TOKEN = 'seller-token';
const MARKETPLACE_KEY = 'sandbox-marketplace-key';
const ORDER = 'sandbox-order';
const PRODUCT = 'sandbox-product';

const say = (line = '') => process.stdout.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'ap-sandbox-'));
const database = join(dir, 'sandbox.sqlite');
const cliEnv = { ...process.env, ACCOUNTING_PROXY_DB_NAME: database };

/** A CLI command as a provider types it; the sandbox stops if it fails. */
function cli(...args: string[]): void {
  const run = spawnSync(join(ROOT, 'cli', 'cli'), args, { env: cliEnv, encoding: 'utf8' });
  say(`  $ cli/cli ${args.join(' ')}`);
  if (run.status !== 0) throw new Error(`cli/cli ${args.join(' ')} failed: ${run.stderr}`);
}

async function adminCall(path: string, body: unknown, headers: Record<string, string>) {
  const answer = await fetch(`http://127.0.0.1:${port}/accounting_proxy/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (answer.status >= 300)
    throw new Error(`${path} answered ${answer.status}: ${await answer.text()}`);
  return answer;
}

const idm = await startFakeIdm();
idm.users.set(BUYER_TOKEN, keyrockUser('alice', APP));
idm.users.set(SELLER_TOKEN, keyrockUser('seller', APP));
const backend = await startFakeBackend();
const usage = new FakeUsageApi(MARKETPLACE_KEY);
usage.contract(ORDER, PRODUCT, 'alice', ['call']);
usage.beforeAnswer = async (record) => {
  const field = (name: string) =>
    (record.body.usageCharacteristic as { name: string; value: unknown }[]).find(
      (c) => c.name === name,
    )?.value;
  say(
    `[marketplace] usage record #${field('correlationNumber')} received: ${field('value')} ` +
      `${field('unit')} for order ${field('orderId')}, product ${field('productId')} (${record.verdict})`,
  );
};
await usage.start();

const config = loadConfig({
  ACCOUNTING_PROXY_PORT: String(port),
  ACCOUNTING_PROXY_OPS_PORT: String(opsPort),
  ACCOUNTING_PROXY_DB_NAME: database,
  ACCOUNTING_PROXY_IDM_URL: idm.url,
  ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
  ACCOUNTING_PROXY_USAGE_SCHEDULE: '*/5 * * * * *',
  ACCOUNTING_PROXY_LOG_LEVEL: 'error',
  ACCOUNTING_PROXY_ACCESS_LOG: 'false',
});

say('accounting-proxy sandbox: stand-in Keyrock, echo backend and marketplace on 127.0.0.1');
say(`SQLite store in ${database}`);
say();
say('The provider registers the service and its administrator:');
cli('addService', '/sandbox', `${backend.url}/`, APP, 'GET', 'POST');
cli('addAdmin', 'seller');
cli('bindAdmin', 'seller', '/sandbox');

const proxy = await startProxy(config, createLogger('error'));
const stop = async () => {
  await proxy.close();
  await Promise.all([idm.close(), backend.close(), usage.stop()]);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

// What the marketplace does: checks the asset URL (handing over its key for usage reports),
// then tells the proxy of a purchase and gives the buyer its API key.
await adminCall(
  'urls',
  { url: `http://localhost:${port}/sandbox` },
  {
    'x-auth-token': SELLER_TOKEN,
    'x-api-key': MARKETPLACE_KEY,
  },
);
const bought = await adminCall(
  'newBuy',
  {
    orderId: ORDER,
    productId: PRODUCT,
    customer: 'alice',
    productSpecification: {
      url: `http://localhost:${port}/sandbox`,
      unit: 'call',
      recordType: 'callusage',
    },
  },
  {},
);
const apiKey = ((await bought.json()) as { 'API-KEY': string })['API-KEY'];
say();
say(`The marketplace registered order ${ORDER}: alice pays per call, API key ${apiKey}.`);
say();
say('Try it (from this directory, in another terminal):');
say('  # a metered call: 200, the echo of what the backend received');
say(
  `  $ curl -s -H 'X-Auth-Token: ${BUYER_TOKEN}' -H 'X-API-Key: ${apiKey}' http://localhost:${port}/sandbox/echo/hello`,
);
say('  # a refused one: no API key, 401 and nothing metered');
say(`  $ curl -s -H 'X-Auth-Token: ${BUYER_TOKEN}' http://localhost:${port}/sandbox/echo/hello`);
say('  # the usage the proxy holds, and the records the marketplace has');
say(`  $ ACCOUNTING_PROXY_DB_NAME=${database} cli/cli usage`);
say('  # what an operator graphs');
say(`  $ curl -s http://127.0.0.1:${opsPort}/metrics | grep '^accounting_proxy_requests_total'`);
say();
say('Usage is reported every 5 seconds; each record the marketplace receives is printed here.');
say('Ctrl-C stops the sandbox and removes its store.');
