import type { Command } from 'commander';
import type { ReportableBuy } from '../../store/store.ts';
import { type CliIo, withStore } from '../context.ts';
import { describeKey, describeReporting, reportingStateOf } from '../reporting-state.ts';
import { formatTable } from '../table.ts';

const outboxState = (buy: ReportableBuy) =>
  buy.outbox
    ? `#${buy.outbox.correlationNumber} ${buy.outbox.value} since ${buy.outbox.date}`
    : '-';

const faultsOf = (buy: ReportableBuy) =>
  Object.entries(buy.meterFaults ?? {})
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ') || '-';

export function registerUsage(program: Command, io: CliIo): void {
  program
    .command('usage')
    .description(
      'list the usage of every buy (pending amount, next record number, unsent record, how its reporting stands) and the marketplace keys',
    )
    .option('--json', 'print JSON instead of tables')
    .action(async (options: { json?: boolean }) => {
      await withStore(io, async ({ store, print }) => {
        const buys = await store.listUsage();
        const keys = (await store.listMarketplaceKeys()).map(describeKey);
        if (options.json) {
          const shown = buys.map((buy) => {
            const { apiKey: _key, reportStatus: _status, ...shared } = buy;
            return { ...shared, reporting: reportingStateOf(buy) };
          });
          print(JSON.stringify({ buys: shown, marketplaceKeys: keys }, null, 2));
          return;
        }
        if (buys.length === 0) print('No buys.');
        else {
          const headers = [
            'CUSTOMER',
            'ORDER',
            'PRODUCT',
            'SERVICE',
            'UNIT',
            'PENDING',
            'NEXT #',
            'UNSENT RECORD',
            'STATE',
            'REPORTING',
          ];
          // Shown once a module has failed to count for some buy: the operator has a module to fix.
          const faulted = buys.some((b) => b.meterFaults);
          if (faulted) headers.push('METER FAULTS');
          const rows = buys.map((b) => [
            b.customer,
            b.orderId,
            b.productId,
            b.publicPath,
            b.unit,
            String(b.pending),
            String(b.correlationNumber),
            outboxState(b),
            b.revoked ? 'ended' : 'active',
            describeReporting(reportingStateOf(b)),
            ...(faulted ? [faultsOf(b)] : []),
          ]);
          for (const line of formatTable(headers, rows)) print(line);
        }
        print('');
        if (keys.length === 0) print('No marketplace key.');
        else {
          const rows = keys.map((k) => [k.fingerprint, k.receivedAt, k.state, k.checkedAt ?? '-']);
          for (const line of formatTable(['KEY', 'RECEIVED', 'STATE', 'CHECKED'], rows))
            print(line);
        }
      });
    });
}
