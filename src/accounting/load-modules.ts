import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isProxyError, proxyError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { type LegacyOptions, loadLegacyModule } from './legacy-module.ts';
import type { AccountingModule, ModuleSettings } from './module.ts';

export const MODULES_DIR = fileURLToPath(new URL('../../acc_modules/', import.meta.url));
// Run from source (tests, through tsx) modules are .ts; run compiled (`npm start`) they are .js.
const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
// A module of the original proxy stays where the original kept it, `acc_modules/` at the root of
// the repository, and runs uncompiled: from dist/ that is three levels up.
export const LEGACY_MODULES_DIR =
  EXTENSION === '.ts'
    ? MODULES_DIR
    : fileURLToPath(new URL('../../../acc_modules/', import.meta.url));

const DEFAULT_SETTINGS: ModuleSettings = { upstreamHeader: 'x-usage-amount' };

const LEGACY_DEFAULTS: LegacyOptions = {
  bodyLimit: 1024 * 1024,
  timeoutMs: 100,
  log: createLogger('silent'),
};

function check(unit: string, exports: Record<string, unknown>): AccountingModule {
  const problem = (what: string) => proxyError('MODULE_INVALID', unit, what);
  if (exports.unit !== unit) throw problem(`it must export unit = "${unit}"`);
  if (typeof exports.count !== 'function')
    throw problem('it must export a count(exchange) function');
  const spec = exports.usageSpecification as { name?: unknown } | undefined;
  if (typeof spec !== 'object' || spec === null || spec.name !== unit) {
    throw problem(`it must export a usageSpecification named "${unit}"`);
  }
  const { fallback } = exports;
  if (
    fallback !== undefined &&
    !(typeof fallback === 'number' && fallback >= 0 && Number.isFinite(fallback))
  ) {
    throw problem('its fallback must be a finite number ≥ 0');
  }
  const { perExchange } = exports;
  if (
    perExchange !== undefined &&
    !(typeof perExchange === 'number' && perExchange > 0 && Number.isFinite(perExchange))
  ) {
    throw problem('its perExchange must be a finite number > 0');
  }
  const session = exports.session as Record<string, unknown> | undefined;
  if (session !== undefined) {
    const rates = typeof session === 'object' && session !== null ? Object.entries(session) : [];
    const valid = rates.every(
      ([name, rate]) =>
        ['perStart', 'perByte', 'perMs'].includes(name) &&
        typeof rate === 'number' &&
        Number.isFinite(rate) &&
        rate >= 0,
    );
    if (rates.length === 0 || !valid) {
      throw problem('its session must give perStart, perByte and/or perMs as finite numbers ≥ 0');
    }
  }
  return exports as unknown as AccountingModule;
}

/**
 * Loads `acc_modules/<unit>.ts` for every configured unit, or else the original proxy's
 * `acc_modules/<unit>.js`; throws MODULE_* errors.
 */
export async function loadAccountingModules(
  units: readonly string[],
  dir = MODULES_DIR,
  legacy: Partial<LegacyOptions> & { dir?: string } = {},
  settings: ModuleSettings = DEFAULT_SETTINGS,
): Promise<Map<string, AccountingModule>> {
  const modules = new Map<string, AccountingModule>();
  for (const unit of units) {
    const file = `${dir}/${unit}${EXTENSION}`;
    const legacyFile = `${legacy.dir ?? (dir === MODULES_DIR ? LEGACY_MODULES_DIR : dir)}/${unit}.js`;
    if (!existsSync(file) && existsSync(legacyFile)) {
      modules.set(unit, loadLegacy(unit, legacyFile, { ...LEGACY_DEFAULTS, ...legacy }));
      continue;
    }
    if (!existsSync(file)) {
      throw proxyError('MODULE_MISSING', unit);
    }
    let exports: Record<string, unknown>;
    try {
      exports = await import(pathToFileURL(file).href);
    } catch (error) {
      throw proxyError(
        'MODULE_LOAD_FAILED',
        unit,
        (error as Error).message.split('\n')[0] ?? '',
      ).causedBy(error);
    }
    const module = check(unit, exports);
    module.configure?.(settings);
    modules.set(unit, module);
  }
  return modules;
}

function loadLegacy(unit: string, file: string, options: LegacyOptions): AccountingModule {
  try {
    return loadLegacyModule(unit, file, options);
  } catch (error) {
    if (isProxyError(error, 'MODULE_INVALID')) throw error;
    throw proxyError(
      'MODULE_LOAD_FAILED',
      unit,
      (error as Error).message.split('\n')[0] ?? '',
    ).causedBy(error);
  }
}
