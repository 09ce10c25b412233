/**
 * Modules written for the original FIWARE Accounting Proxy, loaded as they are: an
 * `acc_modules/<unit>.js` in CommonJS exporting `count(countInfo, callback)` and
 * `getSpecification()`. Each exchange's bodies are buffered for it (up to a limit per body) and it
 * gets the `countInfo` the original built; its callback is guarded.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';
import { proxyError } from '../errors.ts';
import { mediaTypeOf } from '../http/media-type.ts';
import type { Logger } from '../log.ts';
import type { AccountingModule, Exchange, UsageSpecification } from './module.ts';
import { moduleFault } from './module-fault.ts';

type LegacyCallback = (error: unknown, amount?: unknown) => void;

interface LegacyExports {
  count(countInfo: unknown, callback: LegacyCallback): void;
  getSpecification(): unknown;
}

export interface LegacyOptions {
  /** Bytes of each body buffered for the module; past them it is not called (fault `overflow`). */
  bodyLimit: number;
  /** Milliseconds the callback may take (at least 100: the original's modules never hurried). */
  timeoutMs: number;
  log: Logger;
}

/** Runs a CommonJS file inside this ESM package, its own `require`s resolved from its folder. */
function requireCommonJs(file: string): Record<string, unknown> {
  const module = { exports: {} as Record<string, unknown> };
  const wrapper = compileFunction(
    readFileSync(file, 'utf8'),
    ['exports', 'require', 'module', '__filename', '__dirname'],
    { filename: file },
  );
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** The original's countInfo: the backend request with its body, the response with its body. */
function countInfoOf(exchange: Exchange): unknown {
  const { request, response } = exchange;
  const json = mediaTypeOf(request.headers['content-type']) === 'application/json';
  const requestBody = request.tap?.body?.toString('utf8');
  const responseBody = response.tap?.body?.toString('utf8') ?? '';
  return {
    request: {
      url: request.backendUrl ?? request.url,
      method: request.method,
      headers: request.headers,
      ...(BODY_METHODS.has(request.method) && requestBody !== undefined
        ? { body: json ? parsed(requestBody) : requestBody }
        : {}),
    },
    response: {
      statusCode: response.status,
      headers: response.headers,
      body: json ? parsed(responseBody) : responseBody,
      elapsedTime: Math.round(exchange.elapsedMs),
    },
  };
}

/** The module as every other: its bodies tapped whole, its callback turned into an amount. */
export function loadLegacyModule(
  unit: string,
  file: string,
  options: LegacyOptions,
): AccountingModule {
  const problem = (what: string) => proxyError('MODULE_INVALID', unit, what);
  const exports = requireCommonJs(file) as Partial<LegacyExports>;
  if (typeof exports.count !== 'function' || typeof exports.getSpecification !== 'function') {
    throw problem(
      'a module of the original proxy exports count(countInfo, callback) and getSpecification()',
    );
  }
  const spec = exports.getSpecification();
  if (
    typeof spec !== 'object' ||
    spec === null ||
    typeof (spec as { name?: unknown }).name !== 'string'
  ) {
    throw problem('getSpecification() must return a TMF635 usage specification with a name');
  }
  const legacy = exports as LegacyExports;
  // One byte over the limit tells a body that fits from one that does not.
  const plan = { framing: 'buffered' as const, retain: options.bodyLimit + 1 };
  return {
    unit,
    usageSpecification: spec as UsageSpecification,
    timeoutMs: Math.max(100, options.timeoutMs),
    tapRequest: (head) => (BODY_METHODS.has(head.method) ? plan : undefined),
    tapResponse: () => plan,
    count(exchange) {
      for (const tap of [exchange.request.tap, exchange.response.tap]) {
        if (tap && tap.state !== 'complete' && tap.state !== 'incomplete') {
          throw moduleFault('overflow', `a body over ${options.bodyLimit} bytes (${tap.state})`);
        }
      }
      const countInfo = countInfoOf(exchange);
      return new Promise<number>((resolve, reject) => {
        let answered = false;
        legacy.count(countInfo, (error, amount) => {
          if (answered) {
            options.log.warn(
              { unit },
              'accounting module called back twice: the first answer stands',
            );
            return;
          }
          answered = true;
          if (error) reject(moduleFault('callback_error', String(error)));
          else resolve(amount as number);
        });
      });
    },
  };
}
