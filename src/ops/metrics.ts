/**
 * The Prometheus metrics of one proxy process. Their names and labels are an interface (README,
 * docs/operations.md, the Grafana dashboard): labels carry registered public paths, units, error
 * codes and results, never users, keys, tokens or raw paths.
 */
import { type Aggregator, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HotCounter, type Tally } from './hot-counter.ts';
import { collectProcessMetrics } from './process-metrics.ts';
import { RequestHistogram } from './request-histogram.ts';
import { registerStoreGauges, type StoreFigures } from './store-gauges.ts';

export const METRIC_PREFIX = 'accounting_proxy_';

type TokenResult = 'valid' | 'invalid' | 'unavailable';

/** How an exchange of the proxy path ended. */
export type Outcome = 'forwarded' | 'refused' | 'limited' | 'upstream_error';

// From a cached in-memory answer (well under a millisecond) to a backend at its timeout.
const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export type { StoreFigures } from './store-gauges.ts';

export interface MetricsOptions {
  /** Reads the store's figures when scraped; absent: the store gauges are not exported. */
  storeFigures?: () => Promise<StoreFigures>;
  /** Increments recorded but not committed yet. */
  uncommitted?: () => number;
}

/** Defines a gauge of this process's registry, read by `collect` at scrape time. */
export type DefineGauge = (
  name: string,
  help: string,
  aggregator: Aggregator,
  collect?: (this: Gauge) => void | Promise<void>,
  labelNames?: string[],
) => Gauge;

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: HotCounter<'service' | 'outcome' | 'code'>;
  private readonly requestDuration: RequestHistogram;
  private readonly upstreamDuration: RequestHistogram;
  private readonly meteredExchanges: HotCounter<'unit'>;
  private readonly meteredAmount: HotCounter<'unit'>;
  private readonly reportCycles: Counter<'result'>;
  private readonly usageRecords: Counter<'result'>;
  private readonly lastReportSuccess: Gauge;
  private readonly commitDuration: Histogram;
  private readonly idmRequests: Counter<'result'>;
  private readonly tokenVerifications: Counter<'kind' | 'result'>;
  private readonly jwksFetches: Counter<'issuer' | 'result'>;
  private readonly meterFaults: Counter<'unit' | 'reason'>;
  private readonly tokenHits: Tally;
  private readonly tokenMisses: Tally;
  // The tallies of the proxy path, found once per label set.
  private readonly requestTallies = new Map<string, Map<string, Map<string, Tally>>>();
  private readonly unitTallies = new Map<string, { exchanges: Tally; amount: Tally }>();
  private readonly processMetrics: { stop(): void };
  private readonly defineGauge: DefineGauge;
  private uncommittedWatched = false;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name: METRIC_PREFIX + name, help, labelNames, registers });
    const gauge: DefineGauge = (name, help, aggregator, collect, labelNames = []) =>
      new Gauge({
        name: METRIC_PREFIX + name,
        help,
        labelNames,
        aggregator,
        registers,
        ...(collect ? { collect } : {}),
      });
    const hot = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new HotCounter<L>(METRIC_PREFIX + name, help, labelNames, this.registry);
    this.requests = hot(
      'requests_total',
      'Requests of the proxy path by registered service, outcome and error code',
      ['service', 'outcome', 'code'],
    );
    this.requestDuration = new RequestHistogram(
      `${METRIC_PREFIX}request_duration_seconds`,
      'From the start of a request to the last byte of its answer sent',
      'service',
      DURATION_BUCKETS,
      this.registry,
    );
    this.upstreamDuration = new RequestHistogram(
      `${METRIC_PREFIX}upstream_duration_seconds`,
      "From forwarding a request to the backend's last byte",
      'service',
      DURATION_BUCKETS,
      this.registry,
    );
    this.meteredExchanges = hot(
      'metered_exchanges_total',
      'Exchanges whose usage was committed to the store, by unit',
      ['unit'],
    );
    this.meteredAmount = hot('metered_amount_total', 'Amounts committed to the store, by unit', [
      'unit',
    ]);
    this.reportCycles = counter('report_cycles_total', 'Usage report cycles by result', ['result']);
    this.usageRecords = counter(
      'usage_records_total',
      'Usage records sent to the marketplace by result',
      ['result'],
    );
    this.lastReportSuccess = gauge(
      'last_report_success_timestamp_seconds',
      'When a report cycle last ended with nothing failed (Unix time)',
      'max',
    );
    this.commitDuration = new Histogram({
      name: `${METRIC_PREFIX}store_commit_duration_seconds`,
      help: 'Duration of the group commits of usage to the store',
      buckets: COMMIT_BUCKETS,
      registers,
    });
    this.idmRequests = counter('idm_requests_total', 'Token checks with the IdM by result', [
      'result',
    ]);
    this.tokenVerifications = counter(
      'token_verifications_total',
      'Access tokens checked (cache misses): kind jwt (verified here) or keyrock (asked of the IdM), by result',
      ['kind', 'result'],
    );
    this.jwksFetches = counter(
      'jwks_fetches_total',
      "Fetches of a trusted issuer's JSON Web Key Set by result (ok, failed)",
      ['issuer', 'result'],
    );
    this.meterFaults = counter(
      'meter_faults_total',
      "Exchanges whose module's count failed (threw, timeout, invalid_amount): its fallback was recorded",
      ['unit', 'reason'],
    );
    const tokenCache = hot('token_cache_total', 'Token lookups in the cache by result', ['result']);
    this.tokenHits = tokenCache.tally('hit', { result: 'hit' });
    this.tokenMisses = tokenCache.tally('miss', { result: 'miss' });
    // Every result from the start, at 0: an alert on a rate needs the series before the event.
    for (const result of ['sent', 'failed', 'skipped']) this.reportCycles.inc({ result }, 0);
    for (const result of ['accepted', 'rejected', 'failed']) this.usageRecords.inc({ result }, 0);
    for (const result of ['valid', 'invalid', 'unavailable']) {
      this.idmRequests.inc({ result }, 0);
      for (const kind of ['jwt', 'keyrock']) this.tokenVerifications.inc({ kind, result }, 0);
    }
    this.defineGauge = gauge;
    const { storeFigures, uncommitted } = options;
    if (uncommitted) this.watchUncommitted(uncommitted);
    if (storeFigures) registerStoreGauges(storeFigures, gauge);
    this.processMetrics = collectProcessMetrics(this.registry, METRIC_PREFIX);
    // Gauges named like counters, which `promtool check metrics` flags; the per-type gauges
    // without the suffix (nodejs_active_handles{type}, …) say the same.
    for (const name of [
      'active_handles_total',
      'active_requests_total',
      'active_resources_total',
    ]) {
      this.registry.removeSingleMetric(`${METRIC_PREFIX}nodejs_${name}`);
    }
  }

  /** One exchange of the proxy path ended. */
  exchange(
    service: string,
    outcome: Outcome,
    code: string,
    seconds: number,
    upstreamSeconds: number | undefined,
  ): void {
    // Nested by label, not one joined key: the label strings are the same objects every time, so
    // their hashes are cached and nothing is allocated per request.
    let byOutcome = this.requestTallies.get(service);
    if (!byOutcome) {
      byOutcome = new Map();
      this.requestTallies.set(service, byOutcome);
    }
    let byCode = byOutcome.get(outcome);
    if (!byCode) {
      byCode = new Map();
      byOutcome.set(outcome, byCode);
    }
    let tally = byCode.get(code);
    if (!tally) {
      tally = this.requests.tally(`${service}\n${outcome}\n${code}`, { service, outcome, code });
      byCode.set(code, tally);
    }
    tally.value++;
    this.requestDuration.labels(service).observe(seconds);
    if (upstreamSeconds !== undefined)
      this.upstreamDuration.labels(service).observe(upstreamSeconds);
  }

  /** An exchange's usage was committed to the store. */
  metered(unit: string, amount: number): void {
    let tallies = this.unitTallies.get(unit);
    if (!tallies) {
      tallies = {
        exchanges: this.meteredExchanges.tally(unit, { unit }),
        amount: this.meteredAmount.tally(unit, { unit }),
      };
      this.unitTallies.set(unit, tallies);
    }
    tallies.exchanges.value++;
    tallies.amount.value += amount;
  }

  storeCommit(seconds: number): void {
    this.commitDuration.observe(seconds);
  }

  reportCycle(
    result: 'sent' | 'failed' | 'skipped',
    records: { accepted: number; rejected: number; failed: number },
    at: Date,
  ): void {
    this.reportCycles.inc({ result });
    for (const [name, count] of Object.entries(records)) {
      if (count > 0) this.usageRecords.inc({ result: name }, count);
    }
    if (result === 'sent') this.lastReportSuccess.set(at.getTime() / 1000);
  }

  /** The usage recorder's increments not committed yet, read at scrape time (once). */
  watchUncommitted(read: () => number): void {
    if (this.uncommittedWatched) return;
    this.uncommittedWatched = true;
    this.defineGauge(
      'usage_uncommitted',
      'Usage increments waiting in memory for the store',
      'sum',
      function () {
        this.set(read());
      },
    );
  }

  idm(result: TokenResult): void {
    this.idmRequests.inc({ result });
    this.tokenVerifications.inc({ kind: 'keyrock', result });
  }

  jwtVerification(result: TokenResult): void {
    this.tokenVerifications.inc({ kind: 'jwt', result });
  }

  meterFault(unit: string, reason: string): void {
    this.meterFaults.inc({ unit, reason });
  }

  /** Labelled by the issuer, one of the configured few (not a client-chosen value). */
  jwksFetch(issuer: string, result: 'ok' | 'failed'): void {
    this.jwksFetches.inc({ issuer, result });
  }

  tokenLookup(result: 'hit' | 'miss'): void {
    if (result === 'hit') this.tokenHits.value++;
    else this.tokenMisses.value++;
  }

  /** Stops what observes the process (the GC histogram's observer). */
  close(): void {
    this.processMetrics.stop();
  }

  /** The exposition text (Prometheus format). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
