import type { Service, Store } from '../store/store.ts';
import { candidatePaths } from './route-rule.ts';

/** Path and query of an http(s) URL as sent (e.g. `/weather/v1?x=1`), or undefined. */
export function pathOfUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return `${url.pathname}${url.search}`;
}

/**
 * The service a proxy URL (such as the marketplace's asset URL `https://proxy:9000/weather/v1`)
 * belongs to, by the rule the proxy path routes with.
 */
export async function resolveService(store: Store, path: string): Promise<Service | undefined> {
  const [complete, segment] = candidatePaths(path);
  return (await store.getService(complete)) ?? store.getService(segment);
}
