import type { MarketplaceKey, Store } from '../store/store.ts';
import type { UsageApiAnswer } from './usage-api.ts';

/** The marketplace keys one report cycle sends with. */
export interface KeySession {
  /**
   * Calls with the cycle's key; on a 401 goes on with the next key and calls again. Answers the
   * last 401 once every key was refused in this cycle.
   */
  send<T>(call: (key: string) => Promise<UsageApiAnswer<T>>): Promise<UsageApiAnswer<T>>;
}

/**
 * Keys that worked or were never tried first, newest first; keys refused before come last, since
 * the marketplace may have committed them since. Undefined while there is no key at all.
 */
export async function openKeySession(
  store: Store,
  now: () => Date,
): Promise<KeySession | undefined> {
  const kept = await store.listMarketplaceKeys();
  if (kept.length === 0) return undefined;
  const candidates: MarketplaceKey[] = [
    ...kept.filter((k) => k.state !== 'refused'),
    ...kept.filter((k) => k.state === 'refused'),
  ];
  let index = 0;
  const learnt = async (candidate: MarketplaceKey, state: 'accepted' | 'refused') => {
    if (candidate.state === state) return;
    candidate.state = state;
    await store.setMarketplaceKeyState(candidate.key, state, now());
  };
  return {
    async send(call) {
      let refusal: UsageApiAnswer<never> = { outcome: 'key-refused', message: 'every key refused' };
      for (let candidate = candidates[index]; candidate; candidate = candidates[++index]) {
        const answer = await call(candidate.key);
        if (answer.outcome === 'unknown') return answer;
        if (answer.outcome !== 'key-refused') {
          await learnt(candidate, 'accepted');
          return answer;
        }
        await learnt(candidate, 'refused');
        refusal = answer;
      }
      return refusal;
    },
  };
}
