/** A subscription operation of Orion's NGSI v1 or v2 API. */
export interface OrionOperation {
  version: 'v1' | 'v2';
  kind: 'create' | 'update' | 'delete';
  /** The subscription id when the path names it (v2 and RESTful v1 forms). */
  pathId?: string;
}

const V1_VERBS: Record<string, OrionOperation['kind']> = {
  subscribecontext: 'create',
  updatecontextsubscription: 'update',
  unsubscribecontext: 'delete',
};
const V1_AVAILABILITY_VERBS: Record<string, OrionOperation['kind']> = {
  subscribecontextavailability: 'create',
  updatecontextavailabilitysubscription: 'update',
  unsubscribecontextavailability: 'delete',
  deletecontextavailability: 'delete',
};
const RESTFUL: Record<string, OrionOperation['kind']> = { PUT: 'update', DELETE: 'delete' };

/**
 * The subscription operation a request performs, from its method and its path after the service's
 * URL prefix (`/v2/subscriptions/abc`, `/ngsi10/subscribeContext`, …), or undefined for any other
 * request. Segment comparisons only: linear in the path, whatever the path holds.
 */
export function detectOperation(method: string, rest: string): OrionOperation | undefined {
  const query = rest.indexOf('?');
  const segments = (query === -1 ? rest : rest.slice(0, query)).split('/').filter((s) => s !== '');
  const lower = segments.map((s) => s.toLowerCase());
  const [first, second] = lower;
  const id = segments.at(-1);

  if (first === 'v2' && second === 'subscriptions') {
    if (lower.length === 2 && method === 'POST') return { version: 'v2', kind: 'create' };
    if (lower.length === 3 && method === 'PATCH')
      return { version: 'v2', kind: 'update', pathId: id ?? '' };
    if (lower.length === 3 && method === 'DELETE')
      return { version: 'v2', kind: 'delete', pathId: id ?? '' };
    return undefined;
  }

  // NGSI9 (context availability) lives under /ngsi9 or /v1/registry; NGSI10 under /ngsi10 or /v1.
  const availability = first === 'ngsi9' || (first === 'v1' && second === 'registry');
  const base = availability
    ? first === 'ngsi9'
      ? 1
      : 2
    : first === 'ngsi10' || first === 'v1'
      ? 1
      : 0;
  if (base === 0) return undefined;
  const tail = lower.slice(base);
  if (tail.length === 1 && method === 'POST') {
    const kind = (availability ? V1_AVAILABILITY_VERBS : V1_VERBS)[tail[0] ?? ''];
    if (kind) return { version: 'v1', kind };
  }
  const collection = availability ? 'contextavailabilitysubscriptions' : 'contextsubscriptions';
  if (tail[0] !== collection) return undefined;
  if (tail.length === 1 && method === 'POST') return { version: 'v1', kind: 'create' };
  const kind = RESTFUL[method];
  if (tail.length === 2 && kind) return { version: 'v1', kind, pathId: id ?? '' };
  return undefined;
}
