import type { Command } from 'commander';
import { parseService } from '../../services/service-input.ts';
import { type CliIo, withStore } from '../context.ts';

export function registerAddService(program: Command, io: CliIo): void {
  program
    .command('addService')
    .description('add new service to accounting proxy')
    .argument('<publicPath>', '/firstSegment, or a complete path with query: /a/b?x=1')
    .argument('<url>', 'backend URL (http or https)')
    .argument('<appId>', 'OAuth2 application id that consumer tokens must belong to')
    .argument('<method>', 'an allowed HTTP method')
    .argument('[methods...]', 'further allowed HTTP methods')
    .option('-c, --context-broker', 'the service is an Orion Context Broker')
    .option('-f, --force', 'update the service if it exists (keeps its buys and administrators)')
    .addHelpText(
      'after',
      `
Public paths:
  /publicPath                  matches every request whose first path segment is /publicPath;
                               the rest of the path and the query are appended to the URL
  /complete/path?color=Blue    matches exactly this path and query

Example:
  cli/cli addService /weather http://localhost:5000 7a1c0a8e GET POST`,
    )
    .action(
      async (
        publicPath: string,
        url: string,
        appId: string,
        method: string,
        methods: string[],
        options: { contextBroker?: boolean; force?: boolean },
      ) => {
        await withStore(io, async ({ config, store, print }) => {
          const service = parseService(
            {
              publicPath,
              url,
              appId,
              methods: [method, ...methods],
              isContextBroker: !!options.contextBroker,
            },
            {
              reservedPaths: config.api.administration_paths,
              contextBrokerEnabled: config.resources.contextBroker,
            },
          );
          const existed = options.force && (await store.getService(publicPath)) !== undefined;
          await store.addService(service, { replace: !!options.force });
          print(existed ? 'Service successfully updated.' : 'Service successfully added.');
        });
      },
    );
}
