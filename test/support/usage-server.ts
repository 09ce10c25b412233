import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const USAGE_BASE = '/DSUsageManagement/api/usageManagement/v2';

interface Contract {
  customer: string;
  /** Units of the pricing model's pay-per-use components; none: no pay-per-use component. */
  units: string[];
  expected: number;
  lastDate: number;
  accepted: Map<number, { value: number; date: string; body: string }>;
}

export interface ReceivedRecord {
  body: Record<string, unknown>;
  raw: string;
  /** The X-API-KEY it came with. */
  key: string;
  /** `duplicate`: an identical resend of an accepted record (the BAE keeps it as Rejected). */
  verdict: 'guided' | 'rejected' | 'duplicate';
  /** The charging backend's message for a record it refused. */
  reason?: string;
}

interface Judgement {
  verdict: ReceivedRecord['verdict'];
  /** What the BAE answers instead of the 201 when the record is refused. */
  status?: 403 | 422;
  reason?: string;
}

/**
 * `tmf635`: a TMF635 usage API that answers 201 to every stored record and leaves the judging to
 * later. `bae-7.8.0`: as the BAE v7.8.0 logic proxy in front of it answers (marketplace-contract
 * §3.3): the key checked first (committed keys only), the charging backend's rules judged before
 * answering, and their 403/422 with the exact messages instead of the 201.
 */
export type UsageApiMode = 'tmf635' | 'bae-7.8.0';

const mandatory = ['orderid', 'productid', 'correlationnumber', 'unit', 'value'];

/**
 * A TMF635 usage API with the marketplace's charging-engine rules (marketplace-contract §3.3),
 * judging every record guided, rejected or (an identical resend of an accepted record) duplicate.
 * It can be told to fail, to store and never answer, or to store and cut the connection.
 */
export class FakeUsageApi {
  readonly token: string;
  readonly mode: UsageApiMode;
  readonly specifications: Record<string, unknown>[] = [];
  readonly records: ReceivedRecord[] = [];
  readonly contracts = new Map<string, Contract>();
  /** Keys of the BAE's key service; `token` is committed from the start. */
  readonly keys = new Map<string, 'committed' | 'uncommitted'>();
  /** Requests refused with 401, per key sent ('' when none). */
  readonly keyRefusals = new Map<string, number>();
  /** The next N calls answer this status without storing anything. */
  failures: { count: number; status: number } = { count: 0, status: 500 };
  /** The next N usage records (not specifications) answer this status without being stored. */
  recordFailures: { count: number; status: number } = { count: 0, status: 500 };
  /** The next N records are stored and judged, but never answered (the client times out). */
  hangAfterStoring = 0;
  /** The next N records are stored and judged, then the connection is cut before any answer. */
  cutAfterStoring = 0;
  /** Called with each arriving record before it is answered; the answer waits for its promise. */
  beforeAnswer: ((record: ReceivedRecord) => Promise<void>) | undefined;
  #server: Server | undefined;
  #port = 0;

  constructor(token = 'marketplace-token', options: { mode?: UsageApiMode } = {}) {
    this.token = token;
    this.mode = options.mode ?? 'tmf635';
    this.keys.set(token, 'committed');
  }

  /** A key the marketplace issued (and sent with `POST urls`); usable once committed. */
  issueKey(key: string, state: 'committed' | 'uncommitted'): void {
    this.keys.set(key, state);
  }

  /** Records refused with 401 so far. */
  get refusedForKey(): number {
    return [...this.keyRefusals.values()].reduce((a, b) => a + b, 0);
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

  /** The contract's state, to put it out of step with the proxy on purpose. */
  contractOf(orderId: string, productId: string): Contract {
    const contract = this.contracts.get(`${orderId}|${productId}`);
    if (!contract) throw new Error(`no contract ${orderId}|${productId}`);
    return contract;
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

  /** Records of one order, in arrival order. */
  recordsOf(orderId: string): ReceivedRecord[] {
    return this.records.filter((r) =>
      (r.body.usageCharacteristic as { name: string; value: unknown }[]).some(
        (c) => c.name === 'orderId' && c.value === orderId,
      ),
    );
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
    const refusal = this.#keyRefusal(req.headers['x-api-key']);
    if (refusal) {
      const key = String(req.headers['x-api-key'] ?? '');
      this.keyRefusals.set(key, (this.keyRefusals.get(key) ?? 0) + 1);
      return answer(401, { error: refusal });
    }
    if (!String(req.headers['content-type']).startsWith('application/json')) return answer(415);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return answer(400, { error: 'The provided body is not a valid JSON' });
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
    const { status, ...judged } = this.#judge(body, raw);
    const key = String(req.headers['x-api-key']);
    const record: ReceivedRecord = { body, raw, key, ...judged };
    this.records.push(record);
    await this.beforeAnswer?.(record);
    if (this.hangAfterStoring > 0) {
      this.hangAfterStoring--;
      return;
    }
    if (this.cutAfterStoring > 0) {
      this.cutAfterStoring--;
      req.socket.destroy();
      return;
    }
    if (this.mode === 'bae-7.8.0' && status) return answer(status, { error: judged.reason });
    answer(201, { ...body, id: String(this.records.length) });
  }

  /** The logic proxy's key check (BAE mode), or the plain token check. */
  #keyRefusal(sent: string | string[] | undefined): string | undefined {
    if (this.mode === 'tmf635') return sent === this.token ? undefined : 'invalid X-API-KEY';
    if (typeof sent !== 'string' || sent === '') return 'Missing header "X-API-KEY"';
    const state = this.keys.get(sent);
    if (!state) return 'Invalid apikey';
    return state === 'committed' ? undefined : 'Apikey uncommitted';
  }

  /** The charging backend's rules, in order, with its messages (marketplace-contract §3.3). */
  #judge(body: Record<string, unknown>, raw: string): Judgement {
    const reject = (reason: string, status: 403 | 422 = 422): Judgement => ({
      verdict: 'rejected',
      status,
      reason,
    });
    if (String(body.status).toLowerCase() !== 'received') {
      return reject('Invalid initial status, must be Received');
    }
    const characteristics = Array.isArray(body.usageCharacteristic) ? body.usageCharacteristic : [];
    const values = new Map<string, unknown>();
    for (const c of characteristics as { name?: unknown; value?: unknown }[]) {
      const name = String(c.name).toLowerCase();
      if (!mandatory.includes(name)) continue;
      if (values.has(name)) {
        return reject(`Only a value is supported for characteristic ${String(c.name)}`);
      }
      values.set(name, c.value);
    }
    if (values.size !== mandatory.length) {
      return reject(
        'Missing mandatory characteristics, must be: orderId, productId, correlationNumber, unit, value',
      );
    }
    const orderId = String(values.get('orderid'));
    if (![...this.contracts.keys()].some((k) => k.startsWith(`${orderId}|`))) {
      return reject('Invalid orderId, the order does not exists');
    }
    const contract = this.contracts.get(`${orderId}|${values.get('productid')}`);
    if (!contract) return reject('Invalid productId, the contract does not exist');
    const value = Number(values.get('value'));
    if (typeof values.get('value') === 'boolean' || Number.isNaN(value)) {
      return reject('The provided value is not a valid number');
    }
    const party = (body.relatedParty as { id?: unknown }[] | undefined)?.[0];
    const customers = new Set([...this.contracts.values()].map((c) => c.customer));
    if (!customers.has(String(party?.id))) {
      return reject(`The specified customer ${String(party?.id)} does not exist`);
    }
    if (party?.id !== contract.customer) {
      return reject("You don't belong to the customer organization", 403);
    }
    if (contract.units.length === 0) {
      return reject('The pricing model of the offering does not define pay-per-use components');
    }
    const spec = body.usageSpecification as { href?: unknown; name?: unknown } | undefined;
    if (!this.specifications.some((s) => s.href === spec?.href && s.name === spec?.name)) {
      return reject('unknown usage specification');
    }
    const number = Number(values.get('correlationnumber'));
    if (number !== contract.expected) {
      const earlier = contract.accepted.get(number);
      const reason = `Invalid correlation number, expected: ${contract.expected}`;
      if (earlier && earlier.body === raw) return { verdict: 'duplicate', status: 422, reason };
      return reject(reason);
    }
    const date = String(body.date);
    const time = Date.parse(date);
    if (Number.isNaN(time) || time < contract.lastDate) {
      return reject('The provided timestamp specifies a lower timing than the last SDR received');
    }
    const unit = String(values.get('unit')).toLowerCase();
    if (!contract.units.some((u) => u.toLowerCase() === unit)) {
      return reject('The specified unit is not included in the pricing model');
    }
    contract.accepted.set(number, { value, date, body: raw });
    contract.expected++;
    contract.lastDate = time;
    return { verdict: 'guided' };
  }
}
