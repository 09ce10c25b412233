import type { Command } from 'commander';
import { proxyError } from '../../errors.ts';
import { validatePublicPath } from '../../services/service-input.ts';
import { type CliIo, withStore } from '../context.ts';
import { formatTable } from '../table.ts';

export function registerGetAdmins(program: Command, io: CliIo): void {
  program
    .command('getAdmins')
    .description('display all the administrators for the specified service')
    .argument('<publicPath>')
    .option('--json', 'print JSON instead of a table')
    .action(async (publicPath: string, options: { json?: boolean }) => {
      await withStore(io, async ({ store, print }) => {
        if (!(await store.getService(validatePublicPath(publicPath)))) {
          throw proxyError('SERVICE_NOT_FOUND', publicPath);
        }
        const admins = await store.getAdmins(publicPath);
        if (options.json) {
          print(JSON.stringify(admins));
        } else if (admins.length === 0) {
          print(`No administrators available for the service ${publicPath}`);
        } else {
          const rows = admins.map((admin) => [publicPath, admin]);
          for (const line of formatTable(['SERVICE', 'ADMINISTRATOR'], rows)) print(line);
        }
      });
    });
}
