import type { Command } from 'commander';
import type { ReportableBuy } from '../../store/store.ts';
import { type CliIo, withStore } from '../context.ts';
import { formatTable } from '../table.ts';

const outboxState = (buy: ReportableBuy) =>
  buy.outbox
    ? `#${buy.outbox.correlationNumber} ${buy.outbox.value} since ${buy.outbox.date}`
    : '-';

export function registerUsage(program: Command, io: CliIo): void {
  program
    .command('usage')
    .description('list the usage of every buy: pending amount, next record number, unsent record')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { json?: boolean }) => {
      await withStore(io, async ({ store, print }) => {
        const buys = await store.listUsage();
        if (options.json) {
          print(
            JSON.stringify(
              buys.map(({ apiKey: _key, ...buy }) => buy),
              null,
              2,
            ),
          );
          return;
        }
        if (buys.length === 0) {
          print('No buys.');
          return;
        }
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
        ];
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
        ]);
        for (const line of formatTable(headers, rows)) print(line);
      });
    });
}
