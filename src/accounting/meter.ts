import type { Logger } from '../log.ts';
import type { AccountingModule, Exchange } from './module.ts';
import type { UsageRecorder } from './usage-recorder.ts';

export interface MeteredExchange {
  /** What the module counted; 0 when nothing is recorded. */
  amount: number;
  /** Resolves once the amount is committed. */
  committed: Promise<void>;
}

const NOTHING: MeteredExchange = { amount: 0, committed: Promise.resolve() };

/**
 * Counts one finished exchange with the buy's module and records the amount. An amount a module
 * should never return (negative, NaN, infinite) is logged and not stored, so a faulty module
 * cannot poison the store's batches.
 */
export function meterExchange(
  module: AccountingModule,
  exchange: Exchange,
  apiKey: string,
  recorder: UsageRecorder,
  log: Logger,
): MeteredExchange {
  const amount = module.count(exchange);
  if (!Number.isFinite(amount) || amount < 0) {
    log.error({ unit: module.unit, amount }, 'accounting module returned an invalid amount');
    return NOTHING;
  }
  if (amount === 0) return NOTHING;
  return { amount, committed: recorder.record(apiKey, amount, module.unit) };
}
