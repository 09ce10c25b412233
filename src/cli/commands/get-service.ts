import type { Command } from 'commander';
import { proxyError } from '../../errors.ts';
import { describeLimits } from '../../limits/limits.ts';
import { validatePublicPath } from '../../services/service-input.ts';
import type { Service } from '../../store/store.ts';
import { type CliIo, withStore } from '../context.ts';
import { formatTable } from '../table.ts';

const row = (s: Service) => [
  s.publicPath,
  s.url,
  s.appId,
  s.isContextBroker ? 'yes' : 'no',
  // An adapter service is not forwarded to: it has no methods, its URL is its endpoint address.
  s.adapter ? '(adapter API)' : s.methods.join(','),
  [
    ...(s.catalog?.offerings ?? []).map((id) => `offering ${id}`),
    ...(s.catalog?.productSpecs ?? []).map((id) => `spec ${id}`),
  ].join(', ') || '-',
];

export function registerGetService(program: Command, io: CliIo): void {
  program
    .command('getService')
    .description("display service's information")
    .option('-p, --public-path <publicPath>', 'only the service with this public path')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { publicPath?: string; json?: boolean }) => {
      await withStore(io, async ({ store, print }) => {
        let services: Service[];
        if (options.publicPath !== undefined) {
          const service = await store.getService(validatePublicPath(options.publicPath));
          if (!service) throw proxyError('SERVICE_NOT_FOUND', options.publicPath);
          services = [service];
        } else {
          services = await store.listServices();
        }
        const limits = await store.listLimits();
        const limitsOf = (s: Service) =>
          limits.find((e) => e.publicPath === s.publicPath && !e.apiKey)?.limits;
        const buysOwning = (s: Service) =>
          limits.filter((e) => e.publicPath === s.publicPath && e.apiKey).length;
        if (options.json) {
          const shown = services.map((s) => {
            const own = limitsOf(s);
            return own ? { ...s, limits: own } : s;
          });
          print(JSON.stringify(options.publicPath !== undefined ? shown[0] : shown, null, 2));
        } else if (services.length === 0) {
          print(
            'No service registered. Use "cli/cli addService <publicPath> <url> <appId> <method>" to register one.',
          );
        } else {
          const headers = ['PUBLIC PATH', 'URL', 'APP-ID', 'CONTEXT-BROKER', 'METHODS'];
          // The catalog column only where a service is sold through a TMF v4 marketplace, the
          // limits column only where an admin set limits.
          const withCatalog = services.some((s) => s.catalog);
          const withLimits = limits.length > 0;
          const limitsCell = (s: Service) => {
            const owning = buysOwning(s);
            const ofService = describeLimits(limitsOf(s));
            return owning === 0 ? ofService : `${ofService}; ${owning} buy(s) their own`;
          };
          const rows = services.map((s) => [
            ...(withCatalog ? row(s) : row(s).slice(0, -1)),
            ...(withLimits ? [limitsCell(s)] : []),
          ]);
          const allHeaders = [
            ...headers,
            ...(withCatalog ? ['CATALOG'] : []),
            ...(withLimits ? ['LIMITS'] : []),
          ];
          for (const line of formatTable(allHeaders, rows)) print(line);
        }
      });
    });
}
