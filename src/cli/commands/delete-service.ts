import type { Command } from 'commander';
import { validatePublicPath } from '../../services/service-input.ts';
import { type CliIo, withStore } from '../context.ts';

export function registerDeleteService(program: Command, io: CliIo): void {
  program
    .command('deleteService')
    .description('delete the service from the accounting proxy')
    .argument('<publicPath>')
    .action(async (publicPath: string) => {
      await withStore(io, async ({ store, print }) => {
        await store.deleteService(validatePublicPath(publicPath));
        print(`Service ${publicPath} deleted.`);
      });
    });
}
