/**
 * connChange's source: the routing state every proxy keeps in step with the store. A buy of the
 * product's service appearing in it is a `start` for its client key, one disappearing (deleteBuy)
 * a `stop`, whichever process changed the store.
 */
import type { RoutingState } from '../store/store.ts';

export interface RoutingFeed {
  /** The routing state in force now. */
  current(): RoutingState;
  /** Calls `listener` with every routing state loaded from now on; answers the function that stops. */
  onReload(listener: (state: RoutingState) => void): () => void;
}

export type ConnCommand = 'start' | 'stop';

/** Client keys of the service's buys in force. */
export const clientKeysOf = (state: RoutingState, publicPath: string): Set<string> =>
  new Set(
    state.buys.flatMap((buy) =>
      buy.publicPath === publicPath && buy.access ? [buy.access.clientKey] : [],
    ),
  );

export function watchClients(
  feed: RoutingFeed,
  publicPath: string,
  notify: (clientKey: string, command: ConnCommand) => void,
): () => void {
  let known = clientKeysOf(feed.current(), publicPath);
  return feed.onReload((state) => {
    const now = clientKeysOf(state, publicPath);
    for (const key of now) if (!known.has(key)) notify(key, 'start');
    for (const key of known) if (!now.has(key)) notify(key, 'stop');
    known = now;
  });
}
