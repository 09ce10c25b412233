import { type Config, loadConfig } from '../../config.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';

/** Where the CLI reads its environment and writes its output; tests pass their own. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface CommandScope {
  config: Config;
  store: Store;
  /** Prints one line on standard output. */
  print(line: string): void;
}

/**
 * Runs a command body with the configured store open, and always closes it so the process ends by
 * itself on both backends. Configuration is validated first, so a bad value never reaches the store.
 */
export async function withStore(
  io: CliIo,
  body: (scope: CommandScope) => Promise<void>,
): Promise<void> {
  const config = loadConfig(io.env);
  const store = await openStore(config.database, { failFast: true });
  try {
    await body({ config, store, print: (line) => io.stdout(`${line}\n`) });
  } finally {
    await store.close();
  }
}
