/**
 * A counter of the proxy path: adds to a plain number per label set, found once; prom-client's
 * Counter is given the totals when scraped (its `collect`), so formatting, aggregation over
 * workers and the exposition stay prom-client's while a request pays one addition (prom-client's
 * inc() validates and hashes the labels each time).
 */
import { Counter, type Registry } from 'prom-client';

export interface Tally {
  value: number;
}

export class HotCounter<L extends string> {
  private readonly tallies = new Map<string, Tally & { labels: Partial<Record<L, string>> }>();

  constructor(name: string, help: string, labelNames: L[], registry: Registry) {
    const tallies = this.tallies;
    new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        // Totals rather than increments since the last scrape: exact for fractional amounts.
        this.reset();
        for (const { labels, value } of tallies.values()) this.inc(labels, value);
      },
    });
  }

  /** The tally of one label set; `key` must be unique to it. Keep it rather than asking again. */
  tally(key: string, labels: Partial<Record<L, string>>): Tally {
    let tally = this.tallies.get(key);
    if (!tally) {
      tally = { labels, value: 0 };
      this.tallies.set(key, tally);
    }
    return tally;
  }
}
