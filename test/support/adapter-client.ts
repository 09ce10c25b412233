/**
 * An adapter's side of the adapter API, as dapp-openvpn talks to Privatix's session server:
 * JSON-RPC over a real WebSocket (`/ws`) or real HTTP POSTs (`/http`), every `sess_*` call with
 * the product id and password first.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { request } from './client.ts';

export interface RpcAnswer {
  result?: unknown;
  error?: { code: number; message: string };
}

export interface RpcTransport {
  call(method: string, params: unknown[]): Promise<RpcAnswer>;
  close(): Promise<void>;
}

export interface ConnChange {
  subscription: string;
  channel: string;
  command: 'start' | 'stop';
}

export interface WsTransport extends RpcTransport {
  /** connChange notifications received so far, in order. */
  readonly notifications: ConnChange[];
  /** Resolves with the first notification (from `from` on) that matches, within `timeoutMs`. */
  notification(match: (n: ConnChange) => boolean, timeoutMs?: number): Promise<ConnChange>;
  readonly socket: WebSocket;
}

// Ids no other sender on the connection (a fuzz test) can produce by chance.
const ID_PREFIX = `adapter-client-${randomUUID()}-`;
let counter = 0;
const nextId = () => `${ID_PREFIX}${++counter}`;
const strip = (answer: Record<string, unknown>): RpcAnswer =>
  'error' in answer
    ? { error: answer.error as NonNullable<RpcAnswer['error']> }
    : { result: answer.result };

export function httpTransport(baseUrl: string): RpcTransport {
  return {
    async call(method, params) {
      const id = nextId();
      const response = await request(`${baseUrl}/http`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.body}`);
      const answer = response.json();
      if (answer.id !== id || answer.jsonrpc !== '2.0')
        throw new Error(`bad answer ${response.body}`);
      return strip(answer);
    },
    close: async () => undefined,
  };
}

export async function wsTransport(baseUrl: string): Promise<WsTransport> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const pending = new Map<unknown, (answer: RpcAnswer) => void>();
  const notifications: ConnChange[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    if (message.method === 'sess_subscription') {
      const params = message.params as {
        subscription: string;
        result: Omit<ConnChange, 'subscription'>;
      };
      notifications.push({ subscription: params.subscription, ...params.result });
      for (const wake of waiters) wake();
      return;
    }
    const resolve = pending.get(message.id);
    pending.delete(message.id);
    resolve?.(strip(message));
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('close', () => {
    for (const resolve of pending.values()) resolve({ error: { code: 0, message: 'closed' } });
    pending.clear();
  });
  return {
    socket,
    notifications,
    call(method, params) {
      const id = nextId();
      return new Promise((resolve) => {
        pending.set(id, resolve);
        socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    },
    notification(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const found = notifications.find(match);
          if (!found) return;
          waiters.delete(look);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`no matching notification within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(look);
        look();
      });
    },
    async close() {
      socket.close();
      await closed;
    },
  };
}

/** The `sess` calls of one product, as Privatix's sess.Client makes them. */
export function sessClient(transport: RpcTransport, product: string, password: string) {
  const call = (name: string, ...args: unknown[]) =>
    transport.call(`sess_${name}`, [product, password, ...args]);
  return {
    transport,
    authClient: (clientKey: string, clientPassword: string) =>
      call('authClient', clientKey, clientPassword),
    startSession: (clientKey: string, ip: string, port: number) =>
      call('startSession', clientKey, ip, port),
    updateSession: (clientKey: string, units: number, ...older: boolean[]) =>
      call('updateSession', clientKey, units, ...older),
    stopSession: (clientKey: string) => call('stopSession', clientKey),
    serviceReady: (clientKey: string) => call('serviceReady', clientKey),
    getEndpoint: (clientKey: string) => call('getEndpoint', clientKey),
    setProductConfig: (config: Record<string, string>) => call('setProductConfig', config),
    subscribe: () => transport.call('sess_subscribe', ['connChange', product, password]),
  };
}

export type SessClient = ReturnType<typeof sessClient>;

/** The error answer of a Privatix session server error. */
export const sessError = (text: string, code: number): RpcAnswer => ({
  error: { code: -32000, message: `${text} (${code})` },
});
