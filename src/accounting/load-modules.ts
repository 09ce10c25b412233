import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AccountingModule } from './module.ts';

export const MODULES_DIR = fileURLToPath(new URL('../../acc_modules/', import.meta.url));
// Run from source (tests, through tsx) modules are .ts; run compiled (`npm start`) they are .js.
const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** A module that cannot be used; its message is the one line start-up stops with. */
export class ModuleLoadError extends Error {
  override name = 'ModuleLoadError';
}

function check(unit: string, exports: Record<string, unknown>): AccountingModule {
  const problem = (what: string) =>
    new ModuleLoadError(`Invalid accounting module acc_modules/${unit}.ts: ${what}`);
  if (exports.unit !== unit) throw problem(`it must export unit = "${unit}"`);
  if (typeof exports.count !== 'function')
    throw problem('it must export a count(exchange) function');
  const spec = exports.usageSpecification as { name?: unknown } | undefined;
  if (typeof spec !== 'object' || spec === null || spec.name !== unit) {
    throw problem(`it must export a usageSpecification named "${unit}"`);
  }
  return exports as unknown as AccountingModule;
}

/** Loads `acc_modules/<unit>.ts` for every configured unit, or throws ModuleLoadError. */
export async function loadAccountingModules(
  units: readonly string[],
  dir = MODULES_DIR,
): Promise<Map<string, AccountingModule>> {
  const modules = new Map<string, AccountingModule>();
  for (const unit of units) {
    const file = `${dir}/${unit}${EXTENSION}`;
    if (!existsSync(file)) {
      throw new ModuleLoadError(
        `No accounting module for unit "${unit}": missing file acc_modules/${unit}.ts`,
      );
    }
    let exports: Record<string, unknown>;
    try {
      exports = await import(pathToFileURL(file).href);
    } catch (error) {
      throw new ModuleLoadError(
        `Cannot load accounting module acc_modules/${unit}.ts: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    modules.set(unit, check(unit, exports));
  }
  return modules;
}
