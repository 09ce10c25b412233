/**
 * A TM Forum v4 marketplace on 127.0.0.1 as FIWARE/tmforum-api serves it (../shared/reference/
 * tmf-v4.md, Part B): the product inventory with `/hub` and its fire-and-forget events, the
 * catalog, parties and usage (POST, DOME's optional PUT with an id, GET with paging). Every body
 * the proxy sends is validated against the OpenAPI files; invalid ones are answered 400 and kept
 * in `invalid` for the test to assert on.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../../../src/http/read-body.ts';
import { listenOnLoopback, type TestServer } from '../http-server.ts';
import { schemaErrors, type TmfModule } from './openapi.ts';
import { productEventDelivery } from './product-events.ts';

export type Json = Record<string, unknown>;

export const TMF_PATHS = {
  inventory: '/tmf-api/productInventory/v4',
  catalog: '/tmf-api/productCatalogManagement/v4',
  party: '/tmf-api/party/v4',
  usage: '/tmf-api/usageManagement/v4',
} as const;

export interface FakeTmfOptions {
  /** DOME's `PUT /usage/{id}` (405 without it, as the fork answers when it is off). */
  usagePut?: boolean;
  /** Bearer token every request must carry ('' or absent: none). */
  token?: string;
  /** Event delivery: attempts and first back-off (tmforum-api: 10 and 500 ms, ×1.5 each time). */
  eventAttempts?: number;
  eventBackoffMs?: number;
}

interface Hub {
  id: string;
  callback: string;
  query: string;
}

const jsonBody = async (req: IncomingMessage): Promise<unknown> => {
  const text = (await readBody(req, 1024 * 1024)).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
};

// Answers `undefined`, so that a handler can `return send(…)`.
const send = (res: ServerResponse, status: number, body?: unknown): undefined => {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' });
  res.end(JSON.stringify(body));
};

const tmfError = (res: ServerResponse, status: number, code: string, reason: string): undefined =>
  send(res, status, { code, reason, message: reason, status: String(status) });

export class FakeTmf {
  readonly products = new Map<string, Json>();
  readonly offerings = new Map<string, Json>();
  readonly prices = new Map<string, Json>();
  readonly specifications = new Map<string, Json>();
  readonly organizations = new Map<string, Json>();
  readonly individuals = new Map<string, Json>();
  readonly usageSpecifications = new Map<string, Json>();
  /** Created usages, in creation order. */
  readonly usages: Json[] = [];
  readonly hubs: Hub[] = [];
  /** Bodies refused by the OpenAPI validation: `<definition>: <problem>`. */
  readonly invalid: string[] = [];
  /** Requests seen, `METHOD path`, for tests that count them. */
  readonly requests: string[] = [];
  /** Answer the next usage create, then cut the connection before the answer (a lost answer). */
  loseNextUsageAnswer = false;
  /** Store the next usage create and never answer it (the sender dies waiting, say). */
  stallNextUsageAnswer = false;
  /** Usage creates stored and left without an answer. */
  readonly stalled: ServerResponse[] = [];
  /** Every GET of the inventory answers 503 while set. */
  inventoryDown = false;
  #server: TestServer | undefined;
  readonly #events;

  constructor(readonly options: FakeTmfOptions = {}) {
    this.#events = productEventDelivery({
      attempts: options.eventAttempts ?? 10,
      backoffMs: options.eventBackoffMs ?? 50,
    });
  }

  get url(): string {
    if (!this.#server) throw new Error('FakeTmf not started');
    return this.#server.url;
  }

  /** Events are delivered (true) or silently dropped, as after tmforum-api's last retry. */
  set deliverEvents(deliver: boolean) {
    this.#events.deliver = deliver;
  }

  async start(): Promise<this> {
    this.#server = await listenOnLoopback((req, res) => {
      this.#handle(req, res).catch((error: Error) => {
        if (!res.headersSent) tmfError(res, 400, 'BAD_REQUEST', error.message);
        else res.destroy();
      });
    });
    return this;
  }

  async stop(): Promise<void> {
    this.#events.stop();
    for (const res of this.stalled) res.destroy();
    await this.#server?.close();
  }

  goDown = () => this.#server?.goDown() ?? Promise.resolve();
  comeBack = () => this.#server?.comeBack() ?? Promise.resolve();

  /** Waits until every event sent so far was delivered or dropped. */
  eventsSettled = () => this.#events.settled();

  /**
   * A product as the marketplace's API creates or changes it: POST fires ProductCreateEvent, a
   * PATCH fires AttributeValueChange and, when the status changed, StateChange; `silently`
   * writes it as the broker replication does, with no event.
   */
  putProduct(product: Json & { id: string }, options: { silently?: boolean } = {}): void {
    const before = this.products.get(product.id);
    const stored: Json = {
      href: `${this.url}${TMF_PATHS.inventory}/product/${product.id}`,
      ...product,
    };
    this.products.set(product.id, stored);
    if (options.silently) return;
    if (!before) this.#fire('ProductCreateEvent', stored);
    else {
      this.#fire('ProductAttributeValueChangeEvent', stored);
      if (before.status !== stored.status) this.#fire('ProductStateChangeEvent', stored);
    }
  }

  /** DELETE: tmforum-api's API sends no event for it; the broker path sends ProductDeleteEvent. */
  deleteProduct(id: string, options: { event?: boolean } = {}): void {
    const product = this.products.get(id);
    this.products.delete(id);
    if (product && options.event) this.#fire('ProductDeleteEvent', product);
  }

  #fire(eventType: string, product: Json): void {
    const event = {
      eventId: randomUUID(),
      eventTime: new Date().toISOString(),
      eventType,
      event: { product },
    };
    for (const hub of this.hubs) this.#events.send(hub.callback, event);
  }

  #invalidBody(res: ServerResponse, module: TmfModule, definition: string, body: unknown): boolean {
    const problems = schemaErrors(module, definition, body);
    if (problems.length === 0) return false;
    this.invalid.push(...problems.map((problem) => `${definition}: ${problem}`));
    tmfError(res, 400, 'INVALID_BODY', problems.join('; '));
    return true;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<undefined> {
    const url = new URL(req.url ?? '/', 'http://tmf');
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname}`);
    const token = this.options.token;
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      return tmfError(res, 401, 'UNAUTHORIZED', 'missing or wrong bearer token');
    }
    const body = method === 'GET' || method === 'DELETE' ? undefined : await jsonBody(req);
    const path = url.pathname.replace(/\/+$/, '');
    const [api, ...rest] = Object.entries(TMF_PATHS).flatMap(([name, base]) =>
      path.startsWith(`${base}/`) ? [name, ...path.slice(base.length + 1).split('/')] : [],
    );
    const [collection = '', id] = rest.map(decodeURIComponent);
    if (api === 'inventory') return this.#inventory(req, res, collection, id, body, url);
    if (api === 'usage') return this.#usage(req, res, collection, id, body, url);
    const lookups: Record<string, Record<string, Map<string, Json>>> = {
      catalog: {
        productOffering: this.offerings,
        productOfferingPrice: this.prices,
        productSpecification: this.specifications,
      },
      party: { organization: this.organizations, individual: this.individuals },
    };
    const entity = api && method === 'GET' && id ? lookups[api]?.[collection]?.get(id) : undefined;
    if (entity) return send(res, 200, entity);
    return tmfError(res, 404, 'NOT_FOUND', `no ${collection} ${id ?? ''}`);
  }

  #inventory(
    req: IncomingMessage,
    res: ServerResponse,
    collection: string,
    id: string | undefined,
    body: unknown,
    url: URL,
  ): undefined {
    if (collection === 'hub' && req.method === 'POST') {
      if (this.#invalidBody(res, 'product-inventory', 'EventSubscriptionInput', body)) return;
      const { callback, query = '' } = body as { callback: string; query?: string };
      if (this.hubs.some((hub) => hub.callback === callback && hub.query === query)) {
        return tmfError(res, 409, 'CONFLICT', 'subscription exists');
      }
      const hub = { id: `urn:ngsi-ld:tm-forum-subscription:${randomUUID()}`, callback, query };
      this.hubs.push(hub);
      return send(res, 201, hub);
    }
    if (collection === 'hub' && req.method === 'DELETE' && id) {
      const index = this.hubs.findIndex((hub) => hub.id === id);
      if (index === -1) return tmfError(res, 404, 'NOT_FOUND', 'no such subscription');
      this.hubs.splice(index, 1);
      return send(res, 204);
    }
    if (collection === 'product' && req.method === 'GET') {
      if (this.inventoryDown) return tmfError(res, 503, 'UNAVAILABLE', 'inventory down');
      if (id) {
        const product = this.products.get(id);
        return product ? send(res, 200, product) : tmfError(res, 404, 'NOT_FOUND', id);
      }
      return send(res, 200, page([...this.products.values()], url));
    }
    tmfError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} ${collection}`);
  }

  #usage(
    req: IncomingMessage,
    res: ServerResponse,
    collection: string,
    id: string | undefined,
    body: unknown,
    url: URL,
  ): undefined {
    if (collection === 'usageSpecification' && req.method === 'GET' && id) {
      const spec = this.usageSpecifications.get(id);
      return spec ? send(res, 200, spec) : tmfError(res, 404, 'NOT_FOUND', id);
    }
    if (collection !== 'usage') return tmfError(res, 404, 'NOT_FOUND', collection);
    if (req.method === 'GET') {
      if (id) {
        const usage = this.usages.find((u) => u.id === id);
        return usage ? send(res, 200, usage) : tmfError(res, 404, 'NOT_FOUND', id);
      }
      // tmforum-api filters by query parameters; the proxy must not count on it (it checks each).
      const description = url.searchParams.get('description');
      const matching =
        description === null
          ? this.usages
          : this.usages.filter((u) => u.description === description);
      return send(res, 200, page(matching, url));
    }
    if (req.method === 'PUT') {
      if (!this.options.usagePut) return tmfError(res, 405, 'METHOD_NOT_ALLOWED', 'PUT is off');
      if (!id?.startsWith('urn:ngsi-ld:usage:')) {
        return tmfError(res, 400, 'INVALID_ID', 'the id must be urn:ngsi-ld:usage:…');
      }
      if (this.usages.some((u) => u.id === id)) return tmfError(res, 409, 'CONFLICT', id);
      return this.#createUsage(res, id, body);
    }
    if (req.method === 'POST' && !id) {
      return this.#createUsage(res, `urn:ngsi-ld:usage:${randomUUID()}`, body);
    }
    tmfError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} usage`);
  }

  #createUsage(res: ServerResponse, id: string, body: unknown): undefined {
    if (this.#invalidBody(res, 'usage-management', 'Usage_Create', body)) return;
    const usage = body as Json;
    // tmforum-api checks the references: one existing party is enough (anyMatch), and the spec.
    const parties = (usage.relatedParty as { id: string }[] | undefined) ?? [];
    const known = (party: { id: string }) =>
      this.organizations.has(party.id) || this.individuals.has(party.id);
    if (parties.length > 0 && !parties.some(known)) {
      return tmfError(res, 400, 'INVALID_RELATIONSHIP', 'no related party exists');
    }
    const spec = usage.usageSpecification as { id: string } | undefined;
    if (spec && !this.usageSpecifications.has(spec.id)) {
      return tmfError(res, 400, 'INVALID_RELATIONSHIP', `no usage specification ${spec.id}`);
    }
    const created = { ...usage, id, href: `${this.url}${TMF_PATHS.usage}/usage/${id}` };
    this.usages.push(created);
    if (this.loseNextUsageAnswer) {
      this.loseNextUsageAnswer = false;
      res.destroy();
      return;
    }
    if (this.stallNextUsageAnswer) {
      this.stallNextUsageAnswer = false;
      this.stalled.push(res);
      return;
    }
    send(res, 201, created);
  }
}

/** `offset` and `limit` of a TMF list (tmforum-api's default limit is 100). */
function page(items: Json[], url: URL): Json[] {
  const offset = Number(url.searchParams.get('offset') ?? 0);
  const limit = Number(url.searchParams.get('limit') ?? 100);
  return items.slice(offset, offset + limit);
}
