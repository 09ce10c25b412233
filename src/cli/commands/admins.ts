import { type Command, createArgument } from 'commander';
import { validatePublicPath } from '../../services/service-input.ts';
import { type CliIo, withStore } from '../context.ts';
import { parseUserId } from '../user-id.ts';

const userIdArgument = () =>
  createArgument('<userId>', 'IdM user id of the administrator').argParser(parseUserId);

export function registerAddAdmin(program: Command, io: CliIo): void {
  program
    .command('addAdmin')
    .description('add new administrator')
    .addArgument(userIdArgument())
    .action(async (userId: string) => {
      await withStore(io, async ({ store, print }) => {
        await store.addAdmin(userId);
        print(`Added admin: ${userId}`);
      });
    });
}

export function registerDeleteAdmin(program: Command, io: CliIo): void {
  program
    .command('deleteAdmin')
    .description('delete the specified admin (and unbind it from every service)')
    .addArgument(userIdArgument())
    .action(async (userId: string) => {
      await withStore(io, async ({ store, print }) => {
        await store.deleteAdmin(userId);
        print(`Deleted admin: ${userId}`);
      });
    });
}

export function registerBindAdmin(program: Command, io: CliIo): void {
  program
    .command('bindAdmin')
    .description('add a new administrator for the service specified by the public path')
    .addArgument(userIdArgument())
    .argument('<publicPath>')
    .action(async (userId: string, publicPath: string) => {
      await withStore(io, async ({ store, print }) => {
        await store.bindAdmin(userId, validatePublicPath(publicPath));
        print(`Admin ${userId} added to service ${publicPath}`);
      });
    });
}

export function registerUnbindAdmin(program: Command, io: CliIo): void {
  program
    .command('unbindAdmin')
    .description('delete the specified administrator for the specified service by its public path')
    .addArgument(userIdArgument())
    .argument('<publicPath>')
    .action(async (userId: string, publicPath: string) => {
      await withStore(io, async ({ store, print }) => {
        await store.unbindAdmin(userId, validatePublicPath(publicPath));
        print(`Administrator ${userId} removed from service ${publicPath}`);
      });
    });
}
