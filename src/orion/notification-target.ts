/**
 * Where a subscription body names the buyer's notification URL, and how to point it at the proxy
 * instead. Only that one field changes: attrs, attrsFormat, headers, qs, payload and the rest of the
 * subscription stay as the buyer wrote them.
 */
type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The object and key holding the notification URL: v2 `notification.http(Custom).url`, v1 `reference`. */
function locate(body: unknown, version: 'v1' | 'v2'): { holder: Json; key: string } | undefined {
  if (!isObject(body)) return undefined;
  if (version === 'v1')
    return typeof body.reference === 'string' ? { holder: body, key: 'reference' } : undefined;
  const notification = body.notification;
  if (!isObject(notification)) return undefined;
  for (const kind of ['http', 'httpCustom']) {
    const target = notification[kind];
    if (isObject(target) && typeof target.url === 'string') return { holder: target, key: 'url' };
  }
  return undefined;
}

/** The buyer's notification URL in a subscription body, if it names one. */
export function notificationUrlOf(body: unknown, version: 'v1' | 'v2'): string | undefined {
  const found = locate(body, version);
  return found ? (found.holder[found.key] as string) : undefined;
}

/** Replaces the notification URL in place; true if there was one. */
export function redirectNotifications(
  body: unknown,
  version: 'v1' | 'v2',
  callbackUrl: string,
): boolean {
  const found = locate(body, version);
  if (!found) return false;
  found.holder[found.key] = callbackUrl;
  return true;
}
