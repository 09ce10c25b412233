import type { Exchange } from '../src/accounting/module.ts';
import { usageSpecificationFor } from '../src/accounting/usage-specification.ts';

const MEBIBYTE = 1024 * 1024;

/** Response body bytes sent to the client, in units of 1,048,576 bytes. */
export const unit = 'megabyte';
export const usageSpecification = usageSpecificationFor(unit, 'Spec for amount of data usage');
export const count = (exchange: Exchange): number => exchange.response.bytes / MEBIBYTE;

/** An adapter session counts the bytes its updates add, in the same units. */
export const session = { perByte: 1 / MEBIBYTE };
