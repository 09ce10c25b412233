import type { UsageSpecification } from './module.ts';

const value = (
  valueType: 'string' | 'number',
  fields: { default?: boolean; value?: string; valueFrom?: string } = {},
) => [
  {
    valueType,
    default: fields.default ?? false,
    value: fields.value ?? '',
    valueFrom: fields.valueFrom ?? '',
    valueTo: '',
  },
];

/**
 * The TMF635 usage specification of a unit, in the exact shape the marketplace's charging engine
 * knows: the five characteristics every usage record of the unit carries.
 */
export function usageSpecificationFor(unit: string, description: string): UsageSpecification {
  return {
    name: unit,
    description,
    usageSpecCharacteristic: [
      {
        name: 'orderId',
        description: 'Order identifier',
        configurable: false,
        usageSpecCharacteristicValue: value('string'),
      },
      {
        name: 'productId',
        description: 'Product identifier',
        configurable: false,
        usageSpecCharacteristicValue: value('string'),
      },
      {
        name: 'correlationNumber',
        description: 'Accounting correlation number',
        configurable: false,
        usageSpecCharacteristicValue: value('number', { valueFrom: '0' }),
      },
      {
        name: 'unit',
        description: 'Accounting unit',
        configurable: false,
        usageSpecCharacteristicValue: value('string', { default: true, value: unit }),
      },
      {
        name: 'value',
        description: 'Accounting value',
        configurable: false,
        usageSpecCharacteristicValue: value('number', { valueFrom: '0' }),
      },
    ],
  };
}
