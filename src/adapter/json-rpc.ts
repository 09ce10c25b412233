/**
 * JSON-RPC 2.0 as go-ethereum's RPC server (v1.9, the one Privatix dappctrl serves the adapter
 * API with) answers it: positional parameters, batches, notifications without an answer,
 * `<namespace>_subscribe` with the subscription name as first parameter and notifications
 * `<namespace>_subscription`, and its error codes and texts. Transport-agnostic: HTTP and
 * WebSocket hand it one message's text and write what it answers.
 */
import { randomBytes } from 'node:crypto';
import { decodeParams, InvalidParams, type ParamSpec } from './rpc-params.ts';

/** An error a method answers with: `-32000` and its message unless it says otherwise. */
export class RpcError extends Error {
  constructor(
    message: string,
    readonly code = -32000,
  ) {
    super(message);
  }
}

export interface RpcMethod {
  params: readonly ParamSpec[];
  call(args: unknown[], connection: RpcConnection): Promise<unknown> | unknown;
}

export interface RpcSubscription {
  /** Parameters after the subscription name. */
  params: readonly ParamSpec[];
  /**
   * Starts sending `notify(result)` until `stop` is called; rejects (an RpcError) to refuse the
   * subscription.
   */
  start(
    args: unknown[],
    notify: (result: unknown) => void,
    connection: RpcConnection,
  ): Promise<() => void>;
}

export interface RpcService {
  /** `sess` in `sess_authClient`. */
  namespace: string;
  /** By method name, without the namespace. */
  methods: Record<string, RpcMethod>;
  subscriptions: Record<string, RpcSubscription>;
}

/** One connection's side of subscriptions: a WebSocket has one, HTTP has none. */
export interface RpcConnection {
  /** Sends a notification; absent when the transport cannot (HTTP). */
  push?(text: string): void;
  /** Subscriptions of this connection, ended when it closes. */
  readonly subscriptions: Map<string, () => void>;
  /** The peer's IP address. */
  readonly remoteAddress: string;
  /** What methods remember for the connection's lifetime (verified credentials). */
  readonly state: Map<string, unknown>;
}

type Id = string | number | null;
interface Message {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

const VERSION = '2.0';

/** go-ethereum's subscription ids: 16 random bytes as an RPC quantity (hex, no leading zeros). */
function subscriptionId(): string {
  const hex = randomBytes(16).toString('hex').replace(/^0+/, '');
  return `0x${hex || '0'}`;
}

const answer = (id: Id, result: unknown) =>
  // A method with no result answers null, as go-ethereum does for a Go method returning only an error.
  ({ jsonrpc: VERSION, id, result: result === undefined ? null : result });
const failure = (id: Id, code: number, message: string) => ({
  jsonrpc: VERSION,
  id,
  error: { code, message },
});

// An id is valid unless it is an object or an array (go-ethereum's hasValidID); absent: a
// notification, which gets no answer.
const validId = (id: unknown): id is Id =>
  id === null || typeof id === 'string' || typeof id === 'number';

export interface JsonRpcServer {
  /** The answer to one message's text (a request or a batch), or undefined when none is due. */
  handle(text: string, connection: RpcConnection): Promise<string | undefined>;
}

export function createJsonRpcServer(service: RpcService): JsonRpcServer {
  const prefix = `${service.namespace}_`;
  const methodOf = (name: string): RpcMethod | undefined =>
    name.startsWith(prefix) && Object.hasOwn(service.methods, name.slice(prefix.length))
      ? service.methods[name.slice(prefix.length)]
      : undefined;

  // Notifications of a new subscription wait until the answer carrying its id has been written, as
  // go-ethereum's do: `releases` are run once the message's answer is handed to the transport.
  async function subscribe(
    id: Id,
    params: unknown,
    connection: RpcConnection,
    releases: (() => void)[],
  ) {
    const { push } = connection;
    if (!push) return failure(id, -32000, 'notifications not supported');
    if (!Array.isArray(params)) return failure(id, -32602, 'non-array args');
    const name: unknown = params[0];
    if (typeof name !== 'string') {
      return failure(id, -32602, 'expected subscription name as first argument');
    }
    const subscription = Object.hasOwn(service.subscriptions, name)
      ? service.subscriptions[name]
      : undefined;
    if (!subscription) {
      return failure(id, -32601, `no "${name}" subscription in ${service.namespace} namespace`);
    }
    const args = decodeParams(params, [{ type: 'string' }, ...subscription.params]).slice(1);
    const subscriptionIdText = subscriptionId();
    let held: string[] | undefined = [];
    const stop = await subscription.start(
      args,
      (result) => {
        const text = JSON.stringify({
          jsonrpc: VERSION,
          method: `${service.namespace}_subscription`,
          params: { subscription: subscriptionIdText, result },
        });
        if (held) held.push(text);
        else push(text);
      },
      connection,
    );
    releases.push(() => {
      const texts = held ?? [];
      held = undefined;
      for (const text of texts) push(text);
    });
    connection.subscriptions.set(subscriptionIdText, stop);
    return answer(id, subscriptionIdText);
  }

  function unsubscribe(id: Id, params: unknown, connection: RpcConnection) {
    const [subscription] = decodeParams(params, [{ type: 'string' }]) as [string];
    const stop = connection.subscriptions.get(subscription);
    if (!stop) return failure(id, -32000, 'subscription not found');
    stop();
    connection.subscriptions.delete(subscription);
    return answer(id, true);
  }

  async function call(
    message: Message,
    connection: RpcConnection,
    releases: (() => void)[],
  ): Promise<object | undefined> {
    const notification = !('id' in message);
    if (
      typeof message.method !== 'string' ||
      message.method === '' ||
      (!notification && !validId(message.id))
    ) {
      return failure(validId(message.id) ? message.id : null, -32600, 'invalid request');
    }
    const id = notification ? null : (message.id as Id);
    let response: object;
    try {
      if (message.method === `${prefix}subscribe`) {
        response = await subscribe(id, message.params, connection, releases);
      } else if (message.method === `${prefix}unsubscribe`) {
        response = unsubscribe(id, message.params, connection);
      } else {
        const method = methodOf(message.method);
        if (!method) {
          response = failure(
            id,
            -32601,
            `the method ${message.method} does not exist/is not available`,
          );
        } else {
          const args = decodeParams(message.params, method.params);
          response = answer(id, await method.call(args, connection));
        }
      }
    } catch (error) {
      if (error instanceof InvalidParams) response = failure(id, -32602, error.message);
      else if (error instanceof RpcError) response = failure(id, error.code, error.message);
      else throw error;
    }
    return notification ? undefined : response;
  }

  const asMessage = (value: unknown): Message =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Message) : {};

  return {
    async handle(text, connection) {
      const releases: (() => void)[] = [];
      try {
        return await answerMessage(text, connection, releases);
      } finally {
        // After the transport has written the answer: it does so as soon as this resolves.
        if (releases.length > 0) {
          setImmediate(() => {
            for (const release of releases) release();
          });
        }
      }
    },
  };

  async function answerMessage(
    text: string,
    connection: RpcConnection,
    releases: (() => void)[],
  ): Promise<string | undefined> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return JSON.stringify(failure(null, -32700, 'parse error'));
    }
    if (!Array.isArray(parsed)) {
      const response = await call(asMessage(parsed), connection, releases);
      return response && JSON.stringify(response);
    }
    if (parsed.length === 0) return JSON.stringify(failure(null, -32600, 'empty batch'));
    const responses: object[] = [];
    // In order, one after another: an adapter's batch is a sequence (go-ethereum runs it so).
    for (const item of parsed) {
      const response = await call(asMessage(item), connection, releases);
      if (response) responses.push(response);
    }
    return responses.length > 0 ? JSON.stringify(responses) : undefined;
  }
}
