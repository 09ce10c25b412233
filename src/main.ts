/** `npm start`: runs the proxy until SIGTERM or SIGINT. */
import { loadConfig } from '../config.ts';
import { AccountingProxyError } from './errors.ts';
import { createLogger } from './log.ts';
import { startProxy } from './server.ts';

function exitWith(message: string): never {
  process.stderr.write(`accounting-proxy: ${message}\n`);
  process.exit(1);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof AccountingProxyError) exitWith(error.message);
  throw error;
}
const log = createLogger(config.log.level);

let proxy: Awaited<ReturnType<typeof startProxy>>;
try {
  proxy = await startProxy(config, log);
} catch (error) {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EADDRINUSE') exitWith(`port ${config.accounting_proxy.port} is already in use`);
  if (error instanceof AccountingProxyError) exitWith(message);
  exitWith(`cannot start: ${message}`);
}

let stopping = false;
const stop = (signal: string) => {
  // A second signal means now.
  if (stopping) process.exit(1);
  stopping = true;
  log.info({ signal }, 'stopping');
  proxy.close().then(
    () => process.exit(0),
    (error: unknown) => {
      log.error({ err: error }, 'error while stopping');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
