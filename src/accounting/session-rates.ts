import type { SessionRates, SessionRateTable } from '../store/adapter.ts';
import type { AccountingModule } from './module.ts';

/** The units that can meter an adapter session: those whose module declares `session`. */
export const adapterUnits = (modules: ReadonlyMap<string, AccountingModule>): string[] =>
  [...modules.values()].filter((module) => module.session).map((module) => module.unit);

/** What the store applies to adapter sessions, per unit: the modules' declarations, 0 if unsaid. */
export function sessionRatesOf(modules: ReadonlyMap<string, AccountingModule>): SessionRateTable {
  const table: Record<string, SessionRates> = {};
  for (const module of modules.values()) {
    if (!module.session) continue;
    const { perStart = 0, perByte = 0, perMs = 0 } = module.session;
    table[module.unit] = { perStart, perByte, perMs };
  }
  return table;
}
