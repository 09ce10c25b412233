import type { Parse } from './parsers.ts';

/** One environment override: the variable, the config key it sets, how its text is read. */
export interface EnvironmentVariable {
  name: string;
  /** Dotted path of the key in Config, e.g. `accounting_proxy.port`. */
  key: string;
  parse: Parse<unknown>;
  description: string;
}

export const variable = <T>(
  name: string,
  key: string,
  parse: Parse<T>,
  description: string,
): EnvironmentVariable => ({ name: `ACCOUNTING_PROXY_${name}`, key, parse, description });
