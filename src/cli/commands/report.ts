import type { Command } from 'commander';
import { loadAccountingModules } from '../../accounting/load-modules.ts';
import { systemClock } from '../../clock.ts';
import { proxyError } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { configuredTmfReporter } from '../../marketplace/configured-reporter.ts';
import { tmfAuth } from '../../marketplace/tmf-auth.ts';
import { createReportCycle } from '../../usage/report-cycle.ts';
import { createUsageApi } from '../../usage/usage-api.ts';
import { type CliIo, withStore } from '../context.ts';
import { describeReporting, needsAttention, reportingStateOf } from '../reporting-state.ts';
import { formatTable } from '../table.ts';

export function registerReport(program: Command, io: CliIo): void {
  program
    .command('report')
    .description(
      'run one usage report cycle now (waits for none: refused while another runs); fails while a buy is rejected by the marketplace or out of step with it',
    )
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { json?: boolean }) => {
      await withStore(io, async ({ config, store, print }) => {
        if (config.marketplace.mode === 'tmf4') {
          // The TMF v4 marketplace's purchases: their closed windows (src/marketplace/).
          const auth = tmfAuth(config.tmf, { timeoutMs: 10_000, now: systemClock.now });
          const log = createLogger('silent');
          const reporter = configuredTmfReporter({ config, store, auth, clock: systemClock, log });
          const result = await reporter.run();
          if (options.json) print(JSON.stringify(result, null, 2));
          else print(`${result.records.accepted} usage record(s) sent.`);
          if (result.skipped) throw proxyError('REPORT_LOCKED');
          if (result.failures.length > 0) {
            throw proxyError('REPORT_INCOMPLETE', result.failures.length, result.failures[0] ?? '');
          }
          return;
        }
        const cycle = createReportCycle({
          store,
          modules: await loadAccountingModules(config.modules.accounting),
          usageApi: createUsageApi({
            baseUrl: config.usageAPI.url,
            timeoutMs: config.usageAPI.timeout,
          }),
          usageApiUrl: config.usageAPI.url,
          log: createLogger('silent'),
        });
        const result = await cycle.run();
        if (options.json) print(JSON.stringify(result, null, 2));
        else if (result.sent.length === 0) print('No usage record sent.');
        else {
          const rows = result.sent.map((r) => [
            r.orderId,
            r.productId,
            r.unit,
            String(r.correlationNumber),
            String(r.value),
            r.date,
          ]);
          for (const line of formatTable(['ORDER', 'PRODUCT', 'UNIT', '#', 'VALUE', 'DATE'], rows))
            print(line);
        }
        if (result.skipped === 'locked' || result.interrupted === 'lock-lost')
          throw proxyError('REPORT_LOCKED');
        if (result.skipped === 'no-key') {
          throw proxyError('REPORT_NO_KEY');
        }
        const held = (await store.listUsage()).filter(needsAttention);
        if (held.length > 0) {
          const named = held.map(
            (b) =>
              `order ${b.orderId} product ${b.productId}: ${describeReporting(reportingStateOf(b))}`,
          );
          throw proxyError('REPORT_BUYS_HELD', held.length, named.join('; '));
        }
        if (result.failures.length > 0) {
          const first = result.failures[0];
          throw proxyError(
            'REPORT_INCOMPLETE',
            result.failures.length,
            `${first?.subject}: ${first?.error}`,
          );
        }
      });
    });
}
