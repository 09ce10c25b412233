/**
 * The `sess` methods of Privatix's session server on our store: products are adapter services'
 * credentials, channels are buys (the client key names one), sessions meter into the buy's
 * pending usage, which the report cycle sends. Every method takes the product id and password
 * first; results and errors are dappctrl's (sess-errors.ts, messages.ts).
 */
import { isIP } from 'node:net';
import type { Clock } from '../clock.ts';
import { limitsResolver, quotaPeriodAt } from '../limits/limits.ts';
import type { Logger } from '../log.ts';
import type { AdapterClient, Product, SessionEvent, SessionQuota } from '../store/adapter.ts';
import type { Service, Store } from '../store/store.ts';
import type { AuthLimiter } from './auth-limiter.ts';
import { type RoutingFeed, watchClients } from './client-watch.ts';
import type { RpcConnection, RpcMethod, RpcService } from './json-rpc.ts';
import { endpointMessage, isLoopbackAddress, offeringMessage } from './messages.ts';
import { verifyProduct } from './product-check.ts';
import { watchSuspended } from './quota-watch.ts';
import type { ParamSpec } from './rpc-params.ts';
import { sameSecret } from './secrets.ts';
import { SessError, sessError } from './sess-errors.ts';

export interface SessServiceOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  routing: RoutingFeed;
  limiter: AuthLimiter;
}

const text: ParamSpec = { type: 'string' };
const CREDENTIALS = [text, text] as const;

export function createSessService(options: SessServiceOptions): RpcService {
  const { store, clock, log, routing, limiter } = options;

  /** Any failure that is not a session server answer (the store is down) is its internal error. */
  const guarded =
    <A extends unknown[]>(name: string, run: (connection: RpcConnection, ...args: A) => unknown) =>
    async (args: unknown[], connection: RpcConnection) => {
      try {
        return await run(connection, ...(args as A));
      } catch (error) {
        if (error instanceof SessError) throw error;
        log.error({ err: error, method: `sess_${name}` }, 'adapter API call failed');
        throw sessError('internal');
      }
    };

  const method = <A extends unknown[]>(
    name: string,
    params: readonly ParamSpec[],
    run: (connection: RpcConnection, product: Product, ...args: A) => unknown,
  ): RpcMethod => ({
    params: [...CREDENTIALS, ...params],
    call: guarded(name, async (connection, productId: string, password: string, ...rest: A) => {
      const product = await verifyProduct(store, connection, productId, password);
      return run(connection, product, ...rest);
    }),
  });

  const serviceOf = (product: Product): Service => {
    const service = routing.current().services.find((s) => s.publicPath === product.publicPath);
    // The product's service is gone (deleteService): its product went with it.
    if (!service) throw sessError('accessDenied');
    return service;
  };

  /** The channel's end: a buy that ended and was removed is still a channel no longer active. */
  const missing = async (product: Product, clientKey: string) =>
    (await store.endedClient(clientKey)) === product.publicPath
      ? sessError('nonActiveChannel')
      : sessError('channelNotFound');

  /** The buy with this client key, if it is one of the product's service. */
  const clientOf = async (product: Product, clientKey: string): Promise<AdapterClient> => {
    const client = await store.getClient(clientKey);
    if (!client) throw await missing(product, clientKey);
    if (client.publicPath !== product.publicPath) throw sessError('channelNotFound');
    return client;
  };

  /** The buy's quota, if it has one: spent by its sessions in the current period. */
  const quotaOf = (client: AdapterClient): SessionQuota | undefined => {
    const quota = limitsResolver(routing.current().limits)(client)?.quota;
    if (!quota) return undefined;
    return { period: quotaPeriodAt(quota.period, clock.now()).key, amount: quota.amount };
  };

  const record = async (product: Product, client: AdapterClient, event: SessionEvent) => {
    const { clientKey } = client.access;
    const now = Math.round(clock.now());
    const outcome = await store.recordSession(clientKey, event, now, quotaOf(client));
    // Removed since it was read: its last usage was reported meanwhile.
    if (outcome.result === 'not-found') throw await missing(product, clientKey);
    return outcome;
  };

  const methods: Record<string, RpcMethod> = {
    authClient: method(
      'authClient',
      [text, text],
      async (connection, product, clientKey: string, clientPassword: string) => {
        const address = connection.remoteAddress;
        if (limiter.blocked(clientKey, address)) throw sessError('badClientPassword');
        const client = await clientOf(product, clientKey).catch((error: unknown) => {
          limiter.failed(clientKey, address);
          throw error;
        });
        if (client.revoked) throw sessError('nonActiveChannel');
        if (!sameSecret(clientPassword, client.access.clientPassword)) {
          limiter.failed(clientKey, address);
          throw sessError('badClientPassword');
        }
        return null;
      },
    ),

    startSession: method(
      'startSession',
      [text, text, { type: 'uint16' }],
      async (_, product, clientKey: string) => {
        const client = await clientOf(product, clientKey);
        const service = serviceOf(product);
        const outcome = await record(product, client, { kind: 'start' });
        // A buy whose quota is spent may not be served until its next period.
        if (outcome.result === 'revoked' || outcome.result === 'over-quota') {
          throw sessError('nonActiveChannel');
        }
        log.info({ service: product.publicPath }, 'adapter session started');
        return offeringMessage(service, product, client.unit);
      },
    ),

    updateSession: method(
      'updateSession',
      // Older adapters send a fifth argument: stop the session after this update.
      [text, { type: 'uint64' }, { type: 'bool', optional: true }],
      async (_, product, clientKey: string, units: number, stop: boolean | undefined) => {
        const client = await clientOf(product, clientKey);
        const outcome = await record(product, client, { kind: 'update', units });
        if (outcome.result === 'revoked') throw sessError('nonActiveChannel');
        if (outcome.result === 'no-session') throw sessError('sessionNotFound');
        if (stop) await record(product, client, { kind: 'stop' });
        // Metered up to here; from now on the channel may not be served (connChange says stop).
        if (outcome.overQuota) throw sessError('nonActiveChannel');
        return null;
      },
    ),

    stopSession: method('stopSession', [text], async (_, product, clientKey: string) => {
      try {
        await record(product, await clientOf(product, clientKey), { kind: 'stop' });
      } catch (error) {
        // A stop of a channel no longer active is no error (dappctrl answers it so).
        if (!(error instanceof SessError && error.sessName === 'nonActiveChannel')) throw error;
      }
      log.info({ service: product.publicPath }, 'adapter session stopped');
      return null;
    }),

    serviceReady: method('serviceReady', [text], async (_, product, clientKey: string) => {
      await clientOf(product, clientKey);
      await store.setClientReady(clientKey);
      return null;
    }),

    getEndpoint: method('getEndpoint', [text], async (_, product, clientKey: string) => {
      const client = await clientOf(product, clientKey);
      return endpointMessage(serviceOf(product), product, client);
    }),

    setProductConfig: method(
      'setProductConfig',
      [{ type: 'stringMap' }],
      async (_, product, config: Record<string, string>) => {
        if (Object.keys(config).length === 0) throw sessError('badProductConfig');
        const { externalIP, ...rest } = config;
        const service = serviceOf(product);
        // As Privatix: an external IP stands in for an address only the host itself can reach.
        const endpointAddress =
          externalIP !== undefined && isIP(externalIP) !== 0 && isLoopbackAddress(service.url)
            ? externalIP
            : undefined;
        await store.setProductConfig(product.productId, rest, endpointAddress);
        return null;
      },
    ),
  };

  return {
    namespace: 'sess',
    methods,
    subscriptions: {
      connChange: {
        params: CREDENTIALS,
        start: async ([productId, password], notify, connection) => {
          try {
            const product = await verifyProduct(
              store,
              connection,
              productId as string,
              password as string,
            );
            const send = (channel: string, command: 'start' | 'stop') =>
              notify({ channel, command });
            const stopClients = watchClients(routing, product.publicPath, send);
            const stopSuspended = watchSuspended({
              store,
              routing,
              clock,
              log,
              publicPath: product.publicPath,
              notify: send,
            });
            const stop = () => {
              stopClients();
              stopSuspended();
            };
            // Buys made while no adapter listened: the service is still to be made ready for them.
            for (const buy of routing.current().buys) {
              if (buy.publicPath !== product.publicPath || !buy.access) continue;
              const client = await store.getClient(buy.access.clientKey);
              if (client && !client.revoked && !client.ready)
                send(client.access.clientKey, 'start');
            }
            return stop;
          } catch (error) {
            if (error instanceof SessError) throw error;
            log.error({ err: error, method: 'sess_subscribe' }, 'adapter API call failed');
            throw sessError('internal');
          }
        },
      },
    },
  };
}
