import type { IncomingMessage } from 'node:http';
import type { Meters, RequestHead } from '../accounting/meter.ts';
import type { AccountingModule, ExchangeOutcome } from '../accounting/module.ts';
import type { Clock } from '../clock.ts';
import type { ExchangeTrace } from '../ops/exchange-trace.ts';
import type { Buy } from '../store/store.ts';
import type {
  BackendAnswer,
  ExchangeBytes,
  ExchangeHooks,
  ForwardTarget,
} from './exchange-hooks.ts';
import type { Grant } from './limit-gate.ts';

/** A buyer's exchange to meter: its buy, the buy's unit, and what its limits admitted it with. */
export interface Metering {
  buy: Buy;
  module: AccountingModule;
  grant: Grant | undefined;
}

/** Commits the exchange's usage exactly once: at its end, or for what a leaving client got. */
export function meteringHooks(
  { meters, clock }: { meters: Meters; clock: Clock },
  req: IncomingMessage,
  trace: ExchangeTrace,
  metering: Metering,
  target: ForwardTarget,
): ExchangeHooks {
  const started = clock.monotonic();
  const head: RequestHead = {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
  };
  // Modules that read bodies get the backend's URL too, as the original's countInfo had it.
  if (metering.module.tapResponse) head.backendUrl = `${target.origin}${target.path}`;
  const { grant } = metering;
  const meter = meters.start(metering.module, metering.buy.apiKey, head, {
    requestId: trace.id,
    tally: trace,
    ...(grant?.quotaPeriod !== undefined && { quotaPeriod: grant.quotaPeriod }),
  });
  const end = (answer: BackendAnswer, bytes: ExchangeBytes, outcome: ExchangeOutcome) =>
    meter.end({
      answer: {
        status: answer.status,
        headers: answer.headers,
        bytes: bytes.response,
        ...(answer.trailers ? { trailers: answer.trailers } : {}),
      },
      requestBytes: bytes.request,
      elapsedMs: clock.monotonic() - started,
      outcome,
    });
  const hooks: ExchangeHooks = {
    beforeEnd: (answer, bytes) => end(answer, bytes, 'complete'),
    onIncomplete(answer, bytes, backendFailed) {
      // A client that left mid-body pays for what it was sent; a backend that broke off
      // delivered no complete exchange and is not billed.
      if (!backendFailed) void end(answer, bytes, 'client_gone');
      else {
        meter.abandon();
        grant?.release?.();
      }
    },
  };
  if (grant) {
    hooks.addedHeaders = grant.headers;
    if (grant.release) hooks.onUnanswered = grant.release;
  }
  const hidden = metering.module.hiddenHeaders?.();
  if (hidden) hooks.hiddenHeaders = hidden;
  // A module without taps costs the exchange nothing more.
  if (metering.module.tapRequest) hooks.observeRequest = () => meter.tapRequest();
  if (metering.module.tapResponse) {
    hooks.observeResponse = (answer) => meter.tapResponse(answer.status, answer.headers);
  }
  return hooks;
}
