/**
 * Where the marketplace's product events arrive: `POST <callback>` and `POST
 * <callback>/listener/<eventName>` (tmforum-api sends the first, some guides name the second),
 * with `<callback>` = `/accounting_proxy/tmf/<secret>`. Events carry no signature, so the secret
 * path is what keeps others out; any other path under `/accounting_proxy/tmf/` is 404. The answer
 * is 204 at once; the event is only a hint to read its product again.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { proxyError } from '../errors.ts';
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

const sameSecret = (given: string, secret: string) =>
  given.length === secret.length && timingSafeEqual(Buffer.from(given), Buffer.from(secret));

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
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_EVENT_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      res.writeHead(204).end();
      const productId =
        size <= MAX_EVENT_BYTES ? productIdOf(Buffer.concat(chunks).toString()) : undefined;
      if (productId) options.onProduct(productId);
      else options.log.debug({ bytes: size }, 'TMF event without a product id ignored');
    });
    req.on('error', () => res.destroy());
  };
}
