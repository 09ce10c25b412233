import type { TLSSocket } from 'node:tls';
import type { RequestHandler } from 'express';
import type { Config } from '../../config.ts';
import { proxyError } from '../errors.ts';
import { addressIn, toBlockList } from '../http/cidr.ts';

/**
 * Only the marketplace may create and delete buys or register its token. Over HTTPS with a CA that
 * is its client certificate, chained to the CA; otherwise its source address, from a trusted list.
 */
export function marketplaceGuard(config: Config): RequestHandler {
  const https = config.accounting_proxy.https;
  const trusted = toBlockList(config.api.trusted_addresses);
  if (https.enabled && https.caFile) {
    return (req, _res, next) => {
      const socket = req.socket as TLSSocket;
      if (socket.authorized) return next();
      const reason = socket.authorizationError
        ? String(socket.authorizationError)
        : 'NO_CLIENT_CERTIFICATE';
      next(proxyError('ADMIN_CLIENT_CERTIFICATE', reason));
    };
  }
  return (req, _res, next) => {
    if (addressIn(trusted, req.socket.remoteAddress)) return next();
    next(
      proxyError(
        'ADMIN_UNTRUSTED_ADDRESS',
        (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      ),
    );
  };
}
