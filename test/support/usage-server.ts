import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const USAGE_BASE = '/DSUsageManagement/api/usageManagement/v2';

interface Contract {
  customer: string;
  units: string[];
  expected: number;
  lastDate: number;
  accepted: Map<number, { value: number; date: string; body: string }>;
}

export interface ReceivedRecord {
  body: Record<string, unknown>;
  raw: string;
  verdict: 'guided' | 'rejected' | 'duplicate';
  reason?: string;
}

/**
 * A TMF635 usage API with the marketplace's charging-engine rules (marketplace-contract §3.3):
 * it answers 201 to a stored record, then judges it guided, rejected or (an identical resend of
 * an accepted record) duplicate. It can be told to fail, or to store and never answer.
 */
export class FakeUsageApi {
  readonly token: string;
  readonly specifications: Record<string, unknown>[] = [];
  readonly records: ReceivedRecord[] = [];
  readonly contracts = new Map<string, Contract>();
  /** The next N calls answer this status without storing anything. */
  failures: { count: number; status: number } = { count: 0, status: 500 };
  /** The next N usage records (not specifications) answer this status without being stored. */
  recordFailures: { count: number; status: number } = { count: 0, status: 500 };
  /** The next N records are stored and judged, but never answered (the client times out). */
  hangAfterStoring = 0;
  /** Called with each arriving record before it is answered; the answer waits for its promise. */
  beforeAnswer: ((record: ReceivedRecord) => Promise<void>) | undefined;
  #server: Server | undefined;
  #port = 0;

  constructor(token = 'marketplace-token') {
    this.token = token;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}${USAGE_BASE}`;
  }

  /** A product the customer bought with pay-per-use pricing in these units. */
  contract(orderId: string, productId: string, customer: string, units: string[]): void {
    this.contracts.set(`${orderId}|${productId}`, {
      customer,
      units,
      expected: 0,
      lastDate: 0,
      accepted: new Map(),
    });
  }

  /** Sum of the accepted values and the accepted numbers, per order and product. */
  accepted(orderId: string, productId: string): { sum: number; numbers: number[] } {
    const contract = this.contracts.get(`${orderId}|${productId}`);
    const entries = [...(contract?.accepted.entries() ?? [])];
    return {
      sum: entries.reduce((total, [, r]) => total + r.value, 0),
      numbers: entries.map(([n]) => n),
    };
  }

  rejected(): ReceivedRecord[] {
    return this.records.filter((r) => r.verdict === 'rejected');
  }

  async start(port = this.#port): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server?.listen(port, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const answer = (status: number, body?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (this.failures.count > 0) {
      this.failures.count--;
      return answer(this.failures.status, { error: 'failing on purpose' });
    }
    if (req.headers['x-api-key'] !== this.token) return answer(401, { error: 'invalid X-API-KEY' });
    if (!String(req.headers['content-type']).startsWith('application/json')) return answer(415);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return answer(400, { error: 'invalid JSON' });
    }
    if (req.method === 'POST' && req.url === `${USAGE_BASE}/usageSpecification`) {
      const id = this.specifications.length + 1;
      const created = { ...body, id: String(id), href: `${this.url}/usageSpecification/${id}` };
      this.specifications.push(created);
      return answer(201, created);
    }
    if (req.method !== 'POST' || req.url !== `${USAGE_BASE}/usage`) return answer(404);
    if (this.recordFailures.count > 0) {
      this.recordFailures.count--;
      return answer(this.recordFailures.status, { error: 'failing on purpose' });
    }
    const record: ReceivedRecord = { body, raw, ...this.#judge(body, raw) };
    this.records.push(record);
    await this.beforeAnswer?.(record);
    if (this.hangAfterStoring > 0) {
      this.hangAfterStoring--;
      return;
    }
    answer(201, { ...body, id: String(this.records.length) });
  }

  /** The charging engine's rules, in order (marketplace-contract §3.3). */
  #judge(body: Record<string, unknown>, raw: string): Pick<ReceivedRecord, 'verdict' | 'reason'> {
    const reject = (reason: string) => ({ verdict: 'rejected' as const, reason });
    if (String(body.status).toLowerCase() !== 'received') return reject('status');
    const characteristics = Array.isArray(body.usageCharacteristic) ? body.usageCharacteristic : [];
    const values = new Map<string, unknown>();
    for (const c of characteristics as { name?: unknown; value?: unknown }[]) {
      const name = String(c.name).toLowerCase();
      if (values.has(name)) return reject(`repeated ${name}`);
      values.set(name, c.value);
    }
    for (const name of ['orderid', 'productid', 'correlationnumber', 'unit', 'value']) {
      if (!values.has(name)) return reject(`missing ${name}`);
    }
    if (values.size !== 5) return reject('unexpected characteristic');
    const contract = this.contracts.get(`${values.get('orderid')}|${values.get('productid')}`);
    if (!contract) return reject('unknown order or product');
    const value = Number(values.get('value'));
    if (typeof values.get('value') === 'boolean' || Number.isNaN(value))
      return reject('value not a number');
    const party = (body.relatedParty as { id?: unknown }[] | undefined)?.[0];
    if (party?.id !== contract.customer) return reject('customer');
    const spec = body.usageSpecification as { href?: unknown; name?: unknown } | undefined;
    if (!this.specifications.some((s) => s.href === spec?.href && s.name === spec?.name)) {
      return reject('unknown usage specification');
    }
    const number = Number(values.get('correlationNumber'.toLowerCase()));
    const date = String(body.date);
    const time = Date.parse(date);
    if (number !== contract.expected) {
      const earlier = contract.accepted.get(number);
      if (earlier && earlier.body === raw) return { verdict: 'duplicate' };
      return reject(`correlation number ${number}, expected ${contract.expected}`);
    }
    if (Number.isNaN(time) || time < contract.lastDate) return reject('date');
    const unit = String(values.get('unit')).toLowerCase();
    if (!contract.units.some((u) => u.toLowerCase() === unit)) return reject('unit');
    contract.accepted.set(number, { value, date, body: raw });
    contract.expected++;
    contract.lastDate = time;
    return { verdict: 'guided' };
  }
}
