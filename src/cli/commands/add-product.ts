import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { hashPassword, newPassword } from '../../adapter/secrets.ts';
import { proxyError } from '../../errors.ts';
import { validatePublicPath } from '../../services/service-input.ts';
import { type CliIo, withStore } from '../context.ts';

function parseConfig(entries: readonly string[]): Record<string, string> {
  const config: Record<string, string> = {};
  for (const entry of entries) {
    const split = entry.indexOf('=');
    if (split <= 0) throw proxyError('INVALID_PRODUCT_CONFIG', entry);
    config[entry.slice(0, split)] = entry.slice(split + 1);
  }
  return config;
}

export function registerAddProduct(program: Command, io: CliIo): void {
  program
    .command('addProduct')
    .description(
      'create the product credentials an adapter uses for an adapter service (shown once)',
    )
    .argument('<publicPath>', 'an adapter service (addService --adapter)')
    .option('--config <key=value...>', 'product configuration handed to buyers (additionalParams)')
    .option('--rotate', 'replace the credentials of the existing product (its config is kept)')
    .option('--json', 'print {"product","password"} as JSON')
    .addHelpText(
      'after',
      `
Only a hash of the password is stored: keep it now, it is never shown again (--rotate makes new
credentials; the adapter must then be given them).

Example:
  cli/cli addProduct /vpn --config proto=udp port=1194`,
    )
    .action(
      async (
        publicPath: string,
        options: { config?: string[]; rotate?: boolean; json?: boolean },
      ) => {
        await withStore(io, async ({ store, print }) => {
          const product = randomUUID();
          const password = newPassword();
          await store.setProduct(
            {
              productId: product,
              publicPath: validatePublicPath(publicPath),
              passwordHash: await hashPassword(password),
              config: parseConfig(options.config ?? []),
            },
            { replace: !!options.rotate },
          );
          if (options.json) {
            print(JSON.stringify({ product, password }));
            return;
          }
          print(options.rotate ? 'Product credentials replaced.' : 'Product created.');
          print(`product:  ${product}`);
          print(`password: ${password}`);
          print('Keep the password now: only its hash is stored.');
        });
      },
    );
}
