/**
 * Where the marketplace's product events arrive: `POST <callback>` and `POST
 * <callback>/listener/<eventName>` (tmforum-api sends the first, some guides name the second),
 * with `<callback>` = `/accounting_proxy/tmf/<secret>`. Events carry no signature, so the secret
 * path is what keeps others out; any other path under `/accounting_proxy/tmf/` is 404. The answer
 * is 204 at once; the event is only a hint to read its product again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sameSecret } from '../adapter/secrets.ts';
import { isProxyError, proxyError } from '../errors.ts';
import { readBody } from '../http/read-body.ts';
import { sendError } from '../http/send-error.ts';
import type { Logger } from '../log.ts';

export const TMF_LISTENER_PREFIX = '/accounting_proxy/tmf/';

// Product events are one product each; a larger body is not one of them.
const MAX_EVENT_BYTES = 1024 * 1024;

export type EventListener = (req: IncomingMessage, res: ServerResponse) => void;

function productIdOf(text: string): string | undefined {
  try {
    const event = JSON.parse(text) as { event?: { product?: { id?: unknown } } };
    const id = event.event?.product?.id;
    return typeof id === 'string' && id !== '' ? id : undefined;
  } catch {
    return undefined;
  }
}

export function createEventListener(options: {
  secret: string;
  onProduct(productId: string): void;
  log: Logger;
}): EventListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const [secret = '', ...rest] = path.slice(TMF_LISTENER_PREFIX.length).split('/');
    const known =
      sameSecret(secret, options.secret) &&
      (rest.length === 0 || (rest.length === 2 && rest[0] === 'listener' && rest[1] !== ''));
    if (!known) return sendError(res, proxyError('TMF_LISTENER_NOT_FOUND'));
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendError(res, proxyError('TMF_LISTENER_METHOD'));
    }
    readBody(req, MAX_EVENT_BYTES).then(
      (body) => {
        res.writeHead(204).end();
        const productId = productIdOf(body.toString());
        if (productId) options.onProduct(productId);
        else options.log.debug({ bytes: body.length }, 'TMF event without a product id ignored');
      },
      (error: unknown) => {
        // Larger than any product event: refused as too large; a broken connection goes too.
        if (isProxyError(error, 'REQUEST_BODY_TOO_LARGE')) sendError(res, error);
        else res.destroy();
      },
    );
  };
}
