/** The session rates of the shipped units, for tests that open a store as the proxy does. */
import * as call from '../../acc_modules/call.ts';
import * as megabyte from '../../acc_modules/megabyte.ts';
import * as millisecond from '../../acc_modules/millisecond.ts';
import type { AccountingModule } from '../../src/accounting/module.ts';
import { sessionRatesOf } from '../../src/accounting/session-rates.ts';

const shipped: AccountingModule[] = [call, megabyte, millisecond];

export const SESSION_RATES = sessionRatesOf(
  new Map(shipped.map((module) => [module.unit, module])),
);
