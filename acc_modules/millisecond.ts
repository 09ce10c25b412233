import type { Exchange } from '../src/accounting/module.ts';
import { usageSpecificationFor } from '../src/accounting/usage-specification.ts';

/** Milliseconds from forwarding the request until the last response byte. */
export const unit = 'millisecond';
export const usageSpecification = usageSpecificationFor(unit, 'Spec for time usage');
export const count = (exchange: Exchange): number => exchange.elapsedMs;

/** An adapter session counts the milliseconds it is open. */
export const session = { perMs: 1 };
