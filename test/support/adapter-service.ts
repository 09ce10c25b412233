import assert from 'node:assert/strict';
import { cli } from './cli.ts';

/**
 * Registers an adapter service with the CLI and a product for it (`addProduct`, with `productArgs`
 * such as `--config proto=udp`): the product's name and password the adapter's client logs in with.
 */
export async function addAdapterProduct(
  env: Record<string, string>,
  service: { publicPath: string; url: string; appId: string },
  ...productArgs: string[]
): Promise<{ product: string; password: string }> {
  const added = await cli(
    env,
    'addService',
    '--adapter',
    service.publicPath,
    service.url,
    service.appId,
  );
  assert.equal(added.code, 0, added.stderr);
  const created = await cli(env, 'addProduct', service.publicPath, ...productArgs, '--json');
  assert.equal(created.code, 0, created.stderr);
  return JSON.parse(created.stdout) as { product: string; password: string };
}
