import type { Service } from '../store/store.ts';

/**
 * The backend origin and the exact path for a request: the service URL's own path followed by
 * what the client sent after the public path, byte for byte.
 */
export function backendTarget(route: { service: Service; rest: string }): {
  origin: string;
  path: string;
} {
  const url = route.service.url;
  const pathStart = url.indexOf('/', url.indexOf('//') + 2);
  const origin = pathStart === -1 ? url : url.slice(0, pathStart);
  const path = (pathStart === -1 ? '' : url.slice(pathStart)) + route.rest;
  return { origin, path: path.startsWith('/') ? path : `/${path}` };
}
