import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../log.ts';
import type { MeasuredAnswer } from './exchange.ts';
import type { AccountingModule, Exchange, ExchangeOutcome } from './module.ts';
import { faultReasonOf } from './module-fault.ts';
import { openTap, Tap, type TapMemory, type TapPlan, type TapResult } from './tap.ts';
import type { UsageRecorder } from './usage-recorder.ts';

/** The request as it arrived: what a meter is started from. */
export interface RequestHead {
  method: string;
  /** Request target as the client sent it (an Orion notification: the subscriber's URL). */
  url: string;
  headers: IncomingHttpHeaders;
  /** The URL the request is forwarded to. */
  backendUrl?: string | undefined;
}

/** How one exchange ended, as whoever carried it measured it. */
export interface ExchangeEnd {
  answer: MeasuredAnswer;
  /** Request body bytes forwarded. */
  requestBytes: number;
  /** Milliseconds from forwarding the request until the last response byte. */
  elapsedMs: number;
  outcome: ExchangeOutcome;
}

/** Where a meter leaves what it recorded: the exchange's trace, read by the access log. */
export interface MeterTally {
  amount: number | undefined;
  unit: string | undefined;
}

/** Why a module's count was replaced by its fallback. */
/**
 * Why a module's count was replaced by its fallback: it threw, took too long, answered no finite
 * amount ≥ 0, or named a fault of its own (a ModuleFault, e.g. `no_usage`).
 */
export type MeterFault = 'threw' | 'timeout' | 'invalid_amount' | (string & {});

export interface MeterMetrics {
  meterFault(unit: string, reason: MeterFault): void;
}

/** Sees each chunk of a body once it is passed on. */
export interface ChunkObserver {
  see(chunk: Buffer): void;
  /**
   * Whether it may hold a chunk past `see` (a decoder at work, a module's own observer): the
   * proxy frees a chunk's memory once the client took it only if not.
   */
  readonly holdsChunks: boolean;
}

/** The metering of one exchange, from its request head to its end. */
export interface Meter {
  /** The module's tap on the request body, if it wants one for this exchange. */
  tapRequest(): ChunkObserver | undefined;
  /** The module's tap on the response body, if it wants one for this answer. */
  tapResponse(status: number, headers: IncomingHttpHeaders): ChunkObserver | undefined;
  /**
   * Counts the exchange with the module and records the amount, once. Resolves when it is
   * committed (never rejects: a module's fault records its fallback instead).
   */
  end(end: ExchangeEnd): Promise<void>;
  /** The exchange is not metered (the backend broke off): its taps let go of their memory. */
  abandon(): void;
}

export interface Meters {
  start(module: AccountingModule, apiKey: string, head: RequestHead, context?: MeterContext): Meter;
}

export interface MeterContext {
  requestId?: string;
  tally?: MeterTally;
  /** The buy's quota period its amount is spent in (a quota that reserved nothing at admission). */
  quotaPeriod?: string;
}

export interface MeterParts {
  recorder: UsageRecorder;
  log: Logger;
  metrics?: MeterMetrics | undefined;
  /** Milliseconds an asynchronous `count` may take before its fallback is recorded. */
  timeoutMs: number;
  /** Bytes all taps together may hold (ACCOUNTING_PROXY_MODULE_MEMORY). */
  tapMemory: TapMemory;
  /** Keeps the fault with the buy, for `cli usage` (never rejects). */
  recordFault?: (apiKey: string, reason: MeterFault) => void;
}

const NOTHING = Promise.resolve();

class ExchangeMeter implements Meter {
  private ended: Promise<void> | undefined;
  private requestTap: Tap | TapResult | undefined;
  private responseTap: Tap | TapResult | undefined;

  constructor(
    private readonly parts: MeterParts,
    private readonly module: AccountingModule,
    private readonly apiKey: string,
    private readonly head: RequestHead,
    private readonly context: MeterContext,
  ) {}

  tapRequest(): ChunkObserver | undefined {
    const plan = this.planOf(() => this.module.tapRequest?.(this.head));
    return plan && this.attach(plan, this.head.headers['content-encoding'], 'request');
  }

  tapResponse(status: number, headers: IncomingHttpHeaders): ChunkObserver | undefined {
    const plan = this.planOf(() =>
      this.module.tapResponse?.({ status, headers, request: this.head }),
    );
    return plan && this.attach(plan, headers['content-encoding'], 'response');
  }

  /** The module's tap plan; a module that throws deciding it gets no tap (its count still runs). */
  private planOf(decide: () => TapPlan | undefined): TapPlan | undefined {
    try {
      return decide();
    } catch (error) {
      this.warn('threw', error);
      this.parts.metrics?.meterFault(this.module.unit, 'threw');
      return undefined;
    }
  }

  private attach(
    plan: TapPlan,
    encoding: string | string[] | undefined,
    side: 'request' | 'response',
  ): ChunkObserver | undefined {
    const contentEncoding = typeof encoding === 'string' ? encoding : undefined;
    const tap = openTap(plan, contentEncoding, this.parts.tapMemory);
    if (side === 'request') this.requestTap = tap;
    else this.responseTap = tap;
    return tap instanceof Tap
      ? { see: (chunk) => tap.write(chunk), holdsChunks: tap.holdsChunks }
      : undefined;
  }

  abandon(): void {
    if (this.ended) return;
    this.ended = Promise.resolve();
    for (const tap of [this.requestTap, this.responseTap]) {
      if (tap instanceof Tap) void tap.finish(true);
    }
  }

  end(end: ExchangeEnd): Promise<void> {
    if (this.ended) return this.ended;
    const { requestTap, responseTap } = this;
    if (!requestTap && !responseTap) {
      this.ended = this.count(end, undefined, undefined);
      return this.ended;
    }
    const clientGone = end.outcome !== 'complete';
    const finish = (tap: Tap | TapResult | undefined) =>
      tap instanceof Tap ? tap.finish(clientGone) : Promise.resolve(tap);
    this.ended = Promise.all([finish(requestTap), finish(responseTap)]).then(
      ([request, response]) => this.count(end, request, response),
    );
    return this.ended;
  }

  private count(
    end: ExchangeEnd,
    requestTap: TapResult | undefined,
    responseTap: TapResult | undefined,
  ): Promise<void> {
    const { head } = this;
    const exchange: Exchange = {
      request: {
        method: head.method,
        url: head.url,
        headers: head.headers,
        bytes: end.requestBytes,
      },
      response: end.answer,
      elapsedMs: end.elapsedMs,
      outcome: end.outcome,
    };
    if (head.backendUrl !== undefined) exchange.request.backendUrl = head.backendUrl;
    if (requestTap) exchange.request.tap = requestTap;
    if (responseTap) exchange.response = { ...end.answer, tap: responseTap };
    let counted: number | Promise<number>;
    try {
      counted = this.module.count(exchange);
    } catch (error) {
      return this.fault(faultReasonOf(error) ?? 'threw', error);
    }
    if (typeof counted === 'number') return this.record(counted);
    if (typeof (counted as Partial<Promise<number>> | null)?.then !== 'function') {
      return this.fault('invalid_amount', `count answered ${typeof counted}`);
    }
    return this.settle(counted);
  }

  /** An asynchronous count, bounded by the timeout. */
  private get timeoutMs(): number {
    return this.module.timeoutMs ?? this.parts.timeoutMs;
  }

  private settle(counted: Promise<number>): Promise<void> {
    return new Promise<number | { fault: MeterFault }>((resolve) => {
      const timer = setTimeout(() => resolve({ fault: 'timeout' }), this.timeoutMs);
      counted.then(
        (amount) => {
          clearTimeout(timer);
          resolve(typeof amount === 'number' ? amount : Number.NaN);
        },
        (error: unknown) => {
          clearTimeout(timer);
          const reason = faultReasonOf(error) ?? 'threw';
          this.warn(reason, error);
          resolve({ fault: reason });
        },
      );
    }).then((result) => {
      if (typeof result === 'number') return this.record(result);
      if (result.fault === 'timeout') {
        return this.fault('timeout', `no amount within ${this.timeoutMs} ms`);
      }
      return this.fallback(result.fault);
    });
  }

  private record(amount: number): Promise<void> {
    if (!Number.isFinite(amount) || amount < 0) {
      return this.fault('invalid_amount', `count answered ${amount}`);
    }
    return this.commit(amount);
  }

  private commit(amount: number): Promise<void> {
    const { module } = this;
    const { tally } = this.context;
    if (tally) {
      tally.amount = amount;
      tally.unit = module.unit;
    }
    if (amount === 0) return NOTHING;
    return this.parts.recorder.record(this.apiKey, amount, module.unit, this.context.quotaPeriod);
  }

  private fault(reason: MeterFault, detail: unknown): Promise<void> {
    this.warn(reason, detail);
    return this.fallback(reason);
  }

  private fallback(reason: MeterFault): Promise<void> {
    this.parts.metrics?.meterFault(this.module.unit, reason);
    this.parts.recordFault?.(this.apiKey, reason);
    return this.commit(this.module.fallback ?? 0);
  }

  private warn(reason: MeterFault, detail: unknown): void {
    this.parts.log.warn(
      {
        requestId: this.context.requestId,
        unit: this.module.unit,
        reason,
        err: detail instanceof Error ? detail.message : String(detail),
      },
      'accounting module fault: its fallback amount is recorded',
    );
  }
}

/**
 * Metering as one lifecycle: a meter per exchange, started from the buy's module and the request
 * head, ended with what the carrier (the proxy path, an Orion notification) measured. It alone
 * turns an exchange into an amount for the recorder, and no module fault costs the exchange.
 */
export function createMeters(parts: MeterParts): Meters {
  return {
    start: (module, apiKey, head, context = {}) =>
      new ExchangeMeter(parts, module, apiKey, head, context),
  };
}
