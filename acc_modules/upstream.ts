/**
 * An amount the backend reports about the exchange itself, in a response header or an HTTP
 * trailer (ACCOUNTING_PROXY_UPSTREAM_HEADER, default `X-Usage-Amount`): a trailer when the body is
 * chunked and the amount known only at its end, a header otherwise; the trailer wins when both
 * come. The header is removed from what the client gets. A value that is not a finite number ≥ 0,
 * or over the cap, bills the fallback (0) as a fault; an answer without it bills 0 as `no_amount`.
 */

import type { Exchange, ModuleSettings } from '../src/accounting/module.ts';
import { moduleFault } from '../src/accounting/module-fault.ts';
import { usageSpecificationFor } from '../src/accounting/usage-specification.ts';

export const unit = 'upstream';
export const usageSpecification = usageSpecificationFor(
  unit,
  'Spec for an amount the service reports',
);

/** The most one exchange may bill: a backend gone wrong must not bill a customer without end. */
export const MAX_PER_EXCHANGE = 1_000_000;

let header = 'x-usage-amount';

export function configure(settings: ModuleSettings): void {
  header = settings.upstreamHeader.toLowerCase();
}

export const hiddenHeaders = (): readonly string[] => [header];

const AMOUNT = /^\s*\d+(\.\d+)?([eE][+-]?\d+)?\s*$/;

export function count(exchange: Exchange): number {
  const { trailers, headers } = exchange.response;
  const raw = trailers?.[header] ?? headers[header];
  const text = Array.isArray(raw) ? raw.at(-1) : raw;
  if (text === undefined) throw moduleFault('no_amount', `no ${header} in the answer`);
  if (!AMOUNT.test(text)) throw moduleFault('invalid_amount', `${header}: "${text.slice(0, 40)}"`);
  const amount = Number(text);
  if (!Number.isFinite(amount))
    throw moduleFault('invalid_amount', `${header}: "${text.slice(0, 40)}"`);
  if (amount > MAX_PER_EXCHANGE) {
    throw moduleFault('over_cap', `${header} ${amount} is over ${MAX_PER_EXCHANGE}`);
  }
  return amount;
}
