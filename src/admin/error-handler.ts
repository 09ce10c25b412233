import type { ErrorRequestHandler } from 'express';
import { type AccountingProxyError, isProxyError, proxyError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** body-parser's failures, by their `type`, as our errors. */
function fromBodyParser(error: { type?: unknown }): AccountingProxyError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
    case 'request.size.invalid':
    case 'request.aborted':
      return proxyError('INVALID_JSON');
    case 'entity.too.large':
      return proxyError('REQUEST_BODY_TOO_LARGE', '100 kB');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return proxyError('ADMIN_CONTENT_TYPE');
    default:
      return undefined;
  }
}

/** Every admin-API failure is JSON `{"error": …}` with its status; never Express's HTML page. */
export function errorHandler(log: Logger, storeAvailable: () => boolean): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const known = isProxyError(error)
      ? error
      : (fromBodyParser(error as { type?: unknown }) ??
        (storeAvailable() ? undefined : proxyError('STORE_UNAVAILABLE')));
    if (known) {
      if (known.status >= 500) log.error({ code: known.code, path: req.path }, known.message);
      else
        log.warn(
          { code: known.code, status: known.status, path: req.path },
          'admin request refused',
        );
    } else {
      log.error({ err: error, path: req.path }, 'admin request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const answer = known ?? proxyError('INTERNAL_ERROR');
    res.status(answer.status).json({ error: answer.message });
  };
}
