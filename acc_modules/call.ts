import type { Exchange } from '../src/accounting/module.ts';
import { usageSpecificationFor } from '../src/accounting/usage-specification.ts';

/** One unit per exchange with the backend, whatever its status. */
export const unit = 'call';
export const usageSpecification = usageSpecificationFor(unit, 'Spec for call usage');
export const count = (_exchange: Exchange): number => 1;

/** Known before the exchange: a quota reserves it at admission. */
export const perExchange = 1;

/** An adapter session counts 1 when it starts. */
export const session = { perStart: 1 };
