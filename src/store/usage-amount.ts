import { proxyError } from '../errors.ts';

/** Usage only grows: a negative, infinite or NaN amount is a bug in a module, never stored. */
export function assertValidAmount(amount: number): void {
  if (!Number.isFinite(amount) || amount < 0) throw proxyError('INVALID_AMOUNT', amount);
}
