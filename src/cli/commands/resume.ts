import type { Command } from 'commander';
import { proxyError } from '../../errors.ts';
import { type CliIo, withStore } from '../context.ts';
import { needsAttention } from '../reporting-state.ts';

export function registerResume(program: Command, io: CliIo): void {
  program
    .command('resume')
    .description(
      'send the held usage record of a buy again at the next report cycle (after fixing what the marketplace rejected, or what put it out of step)',
    )
    .argument('<orderId>', 'the order of the buy')
    .argument('<productId>', 'the product of the buy')
    .action(async (orderId: string, productId: string) => {
      await withStore(io, async ({ store, print }) => {
        const held = (await store.listUsage()).filter(
          (b) => b.orderId === orderId && b.productId === productId && needsAttention(b),
        );
        if (held.length === 0) throw proxyError('BUY_NOT_HELD', orderId, productId);
        for (const buy of held) {
          await store.setReportStatus(buy.apiKey, buy.correlationNumber, undefined);
        }
        print(`Resumed ${held.length} buy(s): their record goes out with the next report cycle.`);
      });
    });
}
