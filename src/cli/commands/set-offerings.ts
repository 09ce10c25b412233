import type { Command } from 'commander';
import { parseCatalog, validatePublicPath } from '../../services/service-input.ts';
import { type CliIo, withStore } from '../context.ts';
import { catalogOptions } from './catalog-options.ts';

export function registerSetOfferings(program: Command, io: CliIo): void {
  const command = program
    .command('setOfferings')
    .description(
      'set the TMF product offerings and product specifications whose products are buys of a service (none: clears them)',
    )
    .argument('<publicPath>');
  catalogOptions(command).action(
    async (publicPath: string, options: { offering: string[]; productSpec: string[] }) => {
      await withStore(io, async ({ store, print }) => {
        const catalog = parseCatalog(options.offering, options.productSpec);
        await store.setServiceCatalog(validatePublicPath(publicPath), catalog);
        const count = catalog.offerings.length + catalog.productSpecs.length;
        print(
          count === 0
            ? `Service ${publicPath} has no offerings or product specifications now.`
            : `Service ${publicPath}: ${catalog.offerings.length} offering(s), ${catalog.productSpecs.length} product specification(s).`,
        );
      });
    },
  );
}
