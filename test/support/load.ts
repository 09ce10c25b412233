import { Agent, request as httpRequest } from 'node:http';

/** What the clients of a sustained load saw. */
export interface LoadTally {
  /** Responses received in full, by status. */
  statuses: Map<number, number>;
  /** Exchanges that broke: connection refused or reset, or a body cut short. */
  broken: number;
  /** Requests sent and not yet answered or broken. */
  inFlight: number;
}

export interface SustainedLoad {
  tally: LoadTally;
  /** Responses with this status so far. */
  count(status: number): number;
  /** A point in the load's history: exchanges sent from now on are after it. */
  mark(): number;
  /** Statuses of the exchanges sent between two marks (from `from` up to, not including, `to`). */
  statusesSent(from: number, to?: number): Set<number>;
  /**
   * Stops sending and resolves once every worker has finished its last exchange; exchanges still
   * open after `graceMs` are cut off (and counted as broken), so a failing test cannot hang.
   */
  stop(graceMs?: number): Promise<LoadTally>;
}

export interface LoadOptions {
  /** Parallel clients, each sending its next request once the previous one ended. */
  concurrency: number;
  /** Paths to request in turn, relative to `baseUrl`. */
  paths: string[];
  headers: Record<string, string>;
}

/** One exchange: its status once the body arrived in full (as its Content-Length says), or 0. */
function exchange(url: string, headers: Record<string, string>, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { headers, agent }, (res) => {
      const expected = Number(res.headers['content-length'] ?? Number.NaN);
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      res.on('end', () =>
        resolve(Number.isNaN(expected) || received === expected ? (res.statusCode ?? 0) : 0),
      );
      res.on('error', () => resolve(0));
      res.on('aborted', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/**
 * Keeps `concurrency` keep-alive clients busy against `baseUrl` until stopped: the sustained
 * load under which the fault tests break things.
 */
export function sustainedLoad(baseUrl: string, options: LoadOptions): SustainedLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const tally: LoadTally = { statuses: new Map(), broken: 0, inFlight: 0 };
  let stopped = false;
  // Every exchange, numbered in the order it was sent, with its status once it ended.
  let sent = 0;
  const history: { seq: number; status: number }[] = [];
  const worker = async (index: number) => {
    for (let i = index; !stopped; i++) {
      const path = options.paths[i % options.paths.length] ?? '/';
      tally.inFlight++;
      const seq = sent++;
      const status = await exchange(`${baseUrl}${path}`, options.headers, agent);
      history.push({ seq, status });
      tally.inFlight--;
      if (status === 0) tally.broken++;
      else tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
    }
  };
  const workers = Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  return {
    tally,
    count: (status) => tally.statuses.get(status) ?? 0,
    mark: () => sent,
    statusesSent: (from, to = Number.POSITIVE_INFINITY) =>
      new Set(history.filter((e) => e.seq >= from && e.seq < to).map((e) => e.status)),
    async stop(graceMs = 15_000) {
      stopped = true;
      const cutOff = setTimeout(() => agent.destroy(), graceMs);
      await workers;
      clearTimeout(cutOff);
      agent.destroy();
      return tally;
    },
  };
}
