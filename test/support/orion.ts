import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { listenOnLoopback, type TestServer } from './http-server.ts';

interface StoredSubscription {
  version: 'v1' | 'v2';
  body: Record<string, unknown>;
  tenant: string;
}

/** A notification as Orion sends it: v2 `data`, or v1 `contextResponses`. */
function notificationPayload(id: string, version: 'v1' | 'v2', data: unknown[]) {
  if (version === 'v2') return { subscriptionId: id, data };
  return {
    subscriptionId: id,
    originator: 'localhost',
    contextResponses: data.map((element) => ({
      contextElement: element,
      statusCode: { code: '200', reasonPhrase: 'OK' },
    })),
  };
}

/** Where Orion sends a subscription's notifications. */
function targetOf(subscription: StoredSubscription): string | undefined {
  if (subscription.version === 'v1') return subscription.body.reference as string | undefined;
  const notification = subscription.body.notification as
    | { http?: { url?: string }; httpCustom?: { url?: string } }
    | undefined;
  return notification?.http?.url ?? notification?.httpCustom?.url;
}

/**
 * An Orion Context Broker stand-in: the NGSI v2 and v1 subscription endpoints with Orion's ids,
 * `Location` header, v1 response shapes and errors, per tenant (Fiware-Service), and `notify`,
 * which sends a notification to the URL a subscription was given, as Orion does.
 */
export class FakeOrion {
  readonly subscriptions = new Map<string, StoredSubscription>();
  readonly requests: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  #server: TestServer | undefined;

  get url(): string {
    return this.#server?.url ?? '';
  }

  async start(): Promise<void> {
    this.#server = await listenOnLoopback((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => {
        raw += chunk.toString();
      });
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
        const tenant = String(req.headers['fiware-service'] ?? '');
        const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
          const text = body === undefined ? '' : JSON.stringify(body);
          res.writeHead(status, {
            ...(text ? { 'content-type': 'application/json' } : {}),
            ...headers,
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        };
        let body: Record<string, unknown> = {};
        if (raw) {
          try {
            body = JSON.parse(raw);
          } catch {
            return json(400, {
              error: 'ParseError',
              description: 'Errors found in incoming JSON buffer',
            });
          }
        }
        const path = (req.url ?? '').split('?')[0] ?? '';
        const segments = path.split('/').filter(Boolean);
        const find = (id: string) => {
          const found = this.subscriptions.get(id);
          return found && found.tenant === tenant ? found : undefined;
        };
        const newId = () => randomBytes(12).toString('hex');
        const lower = path.toLowerCase();

        if (segments[0] === 'v2' && segments[1] === 'subscriptions') {
          const id = segments[2] ?? '';
          if (req.method === 'POST' && segments.length === 2) {
            if (!targetOf({ version: 'v2', body, tenant })) {
              return json(400, {
                error: 'BadRequest',
                description: 'http notification is missing',
              });
            }
            const created = newId();
            this.subscriptions.set(created, { version: 'v2', body, tenant });
            return json(201, undefined, {
              location: `/v2/subscriptions/${created}`,
              'fiware-correlator': newId(),
            });
          }
          const existing = find(id);
          if (!existing) {
            return json(404, {
              error: 'NotFound',
              description: 'The requested subscription has not been found. Check id',
            });
          }
          if (req.method === 'GET') return json(200, { id, ...existing.body });
          if (req.method === 'PATCH') {
            Object.assign(existing.body, body);
            return json(204, undefined);
          }
          if (req.method === 'DELETE') {
            this.subscriptions.delete(id);
            return json(204, undefined);
          }
          return json(405, { error: 'MethodNotAllowed' });
        }

        if (
          lower.endsWith('/subscribecontext') ||
          (lower.endsWith('/contextsubscriptions') && req.method === 'POST')
        ) {
          if (typeof body.reference !== 'string') {
            return json(200, {
              subscribeError: {
                errorCode: {
                  code: '400',
                  reasonPhrase: 'Bad Request',
                  details: 'reference missing',
                },
              },
            });
          }
          const created = newId();
          this.subscriptions.set(created, { version: 'v1', body, tenant });
          return json(200, {
            subscribeResponse: {
              subscriptionId: created,
              duration: String(body.duration ?? 'PT24H'),
            },
          });
        }
        if (lower.endsWith('/updatecontextsubscription')) {
          const id = String(body.subscriptionId);
          const existing = find(id);
          if (!existing) {
            return json(200, {
              subscribeError: {
                subscriptionId: id,
                errorCode: { code: '404', reasonPhrase: 'No context element found' },
              },
            });
          }
          Object.assign(existing.body, body);
          return json(200, {
            subscribeResponse: {
              subscriptionId: id,
              duration: String(existing.body.duration ?? 'PT24H'),
            },
          });
        }
        const unsubscribe = lower.endsWith('/unsubscribecontext')
          ? String(body.subscriptionId)
          : req.method === 'DELETE' && segments.at(-2)?.toLowerCase() === 'contextsubscriptions'
            ? (segments.at(-1) ?? '')
            : undefined;
        if (unsubscribe !== undefined) {
          if (!find(unsubscribe)) {
            return json(200, {
              subscriptionId: unsubscribe,
              statusCode: { code: '404', reasonPhrase: 'No context element found' },
            });
          }
          this.subscriptions.delete(unsubscribe);
          return json(200, {
            subscriptionId: unsubscribe,
            statusCode: { code: '200', reasonPhrase: 'OK' },
          });
        }
        // Any other NGSI request: an empty result.
        return json(200, []);
      });
    });
  }

  async stop(): Promise<void> {
    await this.#server?.close();
  }

  /** Where a subscription notifies now. */
  target(id: string): string | undefined {
    const subscription = this.subscriptions.get(id);
    return subscription && targetOf(subscription);
  }

  /** Sends one notification as Orion does; answers the status Orion got. */
  notify(
    id: string,
    data: unknown[] = [{ id: 'Room1', type: 'Room', temperature: { value: 23, type: 'Float' } }],
  ) {
    const subscription = this.subscriptions.get(id);
    const target = subscription && targetOf(subscription);
    if (!subscription || !target) throw new Error(`no subscription ${id}`);
    const payload = notificationPayload(id, subscription.version, data);
    const body = Buffer.from(JSON.stringify(payload));
    return new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = httpRequest(
        target,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            'fiware-service': subscription.tenant,
            'fiware-servicepath': '/',
            'user-agent': 'orion/3.10.1 libcurl/7.74.0',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The exact notification body Orion sends for `notify(id, data)`. */
  static notificationBytes(id: string, version: 'v1' | 'v2', data: unknown[]): number {
    return Buffer.byteLength(JSON.stringify(notificationPayload(id, version, data)));
  }
}
