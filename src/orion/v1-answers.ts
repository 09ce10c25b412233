/** What Orion's NGSI v1 answers (HTTP 200 with a status inside the body) say. */

/** The JSON of an answer body, or undefined when it is not JSON. */
export const parseJson = (bytes: Buffer): unknown => {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
};

/** The subscription id a v1 answer carries, for a create or update that Orion accepted. */
export function v1SubscriptionId(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const json = body as {
    subscribeResponse?: { subscriptionId?: unknown };
    subscriptionId?: unknown;
  };
  const id = json.subscribeResponse?.subscriptionId ?? json.subscriptionId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/**
 * Whether Orion no longer has the subscription after a v1 unsubscribe: `statusCode.code` 200
 * (cancelled now) or 404 (it had none by that id).
 */
export function v1Unsubscribed(status: number, body: unknown): boolean {
  const code = (body as { statusCode?: { code?: unknown } } | null)?.statusCode?.code;
  return status === 200 && (String(code) === '200' || String(code) === '404');
}
