import type { Logger } from '../log.ts';
import type { AccountingModule, Exchange } from './module.ts';
import type { UsageRecorder } from './usage-recorder.ts';

/**
 * Counts one finished exchange with the buy's module and records the amount; resolves once it is
 * committed. An amount a module should never return (negative, NaN, infinite) is logged and not
 * stored, so a faulty module cannot poison the store's batches.
 */
export function meterExchange(
  module: AccountingModule,
  exchange: Exchange,
  apiKey: string,
  recorder: UsageRecorder,
  log: Logger,
): Promise<void> {
  const amount = module.count(exchange);
  if (!Number.isFinite(amount) || amount < 0) {
    log.error({ unit: module.unit, amount }, 'accounting module returned an invalid amount');
    return Promise.resolve();
  }
  return amount === 0 ? Promise.resolve() : recorder.record(apiKey, amount);
}
