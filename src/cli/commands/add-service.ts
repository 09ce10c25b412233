import type { Command } from 'commander';
import { proxyError } from '../../errors.ts';
import { parseAdapterService, parseCatalog, parseService } from '../../services/service-input.ts';
import { type CliIo, withStore } from '../context.ts';
import { catalogOptions } from './catalog-options.ts';

interface AddServiceOptions {
  contextBroker?: boolean;
  force?: boolean;
  adapter?: boolean;
  offering: string[];
  productSpec: string[];
}

export function registerAddService(program: Command, io: CliIo): void {
  const command = program
    .command('addService')
    .description('add new service to accounting proxy')
    // Methods are required but for an adapter service (see its line under "Examples").
    .usage('[options] <publicPath> <url> <appId> <method> [methods...]')
    .argument('<publicPath>', '/firstSegment, or a complete path with query: /a/b?x=1')
    .argument('<url>', 'backend URL (http or https); with --adapter, the endpoint address')
    .argument('<appId>', 'OAuth2 application id that consumer tokens must belong to')
    .argument('[methods...]', 'allowed HTTP methods (at least one; none with --adapter)')
    .option('-c, --context-broker', 'the service is an Orion Context Broker')
    .option('-f, --force', 'update the service if it exists (keeps its buys and administrators)')
    .option(
      '-a, --adapter',
      'a service that is not HTTP (a VPN, a stream): metered through the adapter API, not forwarded',
    );
  catalogOptions(command);
  command
    .addHelpText(
      'after',
      `
Public paths:
  /publicPath                  matches every request whose first path segment is /publicPath;
                               the rest of the path and the query are appended to the URL
  /complete/path?color=Blue    matches exactly this path and query

Examples:
  cli/cli addService /weather http://localhost:5000 7a1c0a8e GET POST
  cli/cli addService --adapter /vpn openvpn://vpn.example.com:1194 7a1c0a8e
  cli/cli addService /weather http://localhost:5000 7a1c0a8e GET --offering urn:ngsi-ld:product-offering:1`,
    )
    .action(
      async (
        publicPath: string,
        url: string,
        appId: string,
        methods: string[],
        options: AddServiceOptions,
        command: Command,
      ) => {
        if (!options.adapter && methods.length === 0) {
          command.error("error: missing required argument 'method'");
        }
        await withStore(io, async ({ config, store, print }) => {
          const reservedPaths = config.api.administration_paths;
          let service: ReturnType<typeof parseService>;
          if (options.adapter) {
            if (methods.length > 0 || options.contextBroker) {
              throw proxyError('ADAPTER_SERVICE_OPTIONS');
            }
            service = parseAdapterService({ publicPath, url, appId }, { reservedPaths });
          } else {
            service = parseService(
              { publicPath, url, appId, methods, isContextBroker: !!options.contextBroker },
              { reservedPaths, contextBrokerEnabled: config.resources.contextBroker },
            );
          }
          if (options.offering.length + options.productSpec.length > 0) {
            service.catalog = parseCatalog(options.offering, options.productSpec);
          }
          const existed = options.force && (await store.getService(publicPath)) !== undefined;
          await store.addService(service, { replace: !!options.force });
          print(existed ? 'Service successfully updated.' : 'Service successfully added.');
        });
      },
    );
}
