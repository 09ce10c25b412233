/**
 * Where a subscription body names the buyer's notification URL, and how to point it at the proxy
 * instead. Only that field changes: attrs, attrsFormat, headers, qs, payload and the rest of the
 * subscription stay as the buyer wrote them.
 */
type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every object holding a notification URL: v2 `notification.http(Custom).url`, v1 `reference`. */
function locate(body: unknown, version: 'v1' | 'v2'): { holder: Json; key: string }[] {
  if (!isObject(body)) return [];
  if (version === 'v1') {
    return typeof body.reference === 'string' ? [{ holder: body, key: 'reference' }] : [];
  }
  const notification = body.notification;
  if (!isObject(notification)) return [];
  return ['http', 'httpCustom'].flatMap((kind) => {
    const target = notification[kind];
    return isObject(target) && typeof target.url === 'string'
      ? [{ holder: target, key: 'url' }]
      : [];
  });
}

/** The buyer's notification URL in a subscription body, if it names one. */
export function notificationUrlOf(body: unknown, version: 'v1' | 'v2'): string | undefined {
  const [first] = locate(body, version);
  return first ? (first.holder[first.key] as string) : undefined;
}

/** Replaces every notification URL in place, so none can reach Orion unmetered. */
export function redirectNotifications(
  body: unknown,
  version: 'v1' | 'v2',
  callbackUrl: string,
): void {
  for (const { holder, key } of locate(body, version)) holder[key] = callbackUrl;
}
