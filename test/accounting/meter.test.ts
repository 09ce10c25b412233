/**
 * The meter of one exchange: what it records for every way a module can answer, and that no
 * module fault escapes it. The recorder here only collects; the proxy path test below uses the real
 * one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMeters, type ExchangeEnd, type MeterFault } from '../../src/accounting/meter.ts';
import type { AccountingModule, Exchange } from '../../src/accounting/module.ts';
import { createTapMemory } from '../../src/accounting/tap.ts';
import type { UsageRecorder } from '../../src/accounting/usage-recorder.ts';
import { usageSpecificationFor } from '../../src/accounting/usage-specification.ts';
import { createLogger } from '../../src/log.ts';

const head = { method: 'GET', url: '/svc/x', headers: { accept: 'application/json' } };
const end: ExchangeEnd = {
  answer: { status: 200, headers: {}, bytes: 2048 },
  requestBytes: 10,
  elapsedMs: 7,
  outcome: 'complete',
};

function parts(timeoutMs = 50) {
  const records: [string, number, string | undefined][] = [];
  const faults: [string, MeterFault][] = [];
  const warnings: Record<string, unknown>[] = [];
  const recorder = {
    record: async (apiKey: string, amount: number, unit?: string) => {
      records.push([apiKey, amount, unit]);
    },
  } as UsageRecorder;
  const log = createLogger('silent');
  log.warn = ((fields: Record<string, unknown>) => warnings.push(fields)) as typeof log.warn;
  const meters = createMeters({
    recorder,
    log,
    metrics: { meterFault: (unit, reason) => faults.push([unit, reason]) },
    timeoutMs,
    tapMemory: createTapMemory(1024 * 1024),
  });
  return { meters, records, faults, warnings };
}

const moduleOf = (
  count: (exchange: Exchange) => unknown,
  extra: Partial<AccountingModule> = {},
): AccountingModule => ({
  unit: 'test',
  usageSpecification: usageSpecificationFor('test', 'test'),
  count: count as AccountingModule['count'],
  ...extra,
});

describe('a meter', () => {
  test('records what count answers, once however often the exchange ends', async () => {
    const { meters, records } = parts();
    const seen: Exchange[] = [];
    const tally = {
      amount: undefined as number | undefined,
      unit: undefined as string | undefined,
    };
    const meter = meters.start(
      moduleOf((exchange) => {
        seen.push(exchange);
        return exchange.response.bytes / 1024;
      }),
      'key-1',
      head,
      { tally },
    );
    await Promise.all([meter.end(end), meter.end({ ...end, outcome: 'client_gone' })]);
    assert.deepEqual(records, [['key-1', 2, 'test']]);
    assert.deepEqual(tally, { amount: 2, unit: 'test' });
    assert.deepEqual(seen, [
      {
        request: { ...head, bytes: 10 },
        response: end.answer,
        elapsedMs: 7,
        outcome: 'complete',
      },
    ]);
  });

  test('records nothing for 0, and an async amount within the timeout', async () => {
    const { meters, records, faults } = parts();
    await meters
      .start(
        moduleOf(() => 0),
        'k',
        head,
      )
      .end(end);
    await meters
      .start(
        moduleOf(async () => 3.5),
        'k',
        head,
      )
      .end(end);
    assert.deepEqual(records, [['k', 3.5, 'test']]);
    assert.deepEqual(faults, []);
  });

  const faulty: [string, (exchange: Exchange) => unknown, MeterFault][] = [
    [
      'throws',
      () => {
        throw new Error('boom');
      },
      'threw',
    ],
    ['rejects', () => Promise.reject(new Error('boom')), 'threw'],
    ['never settles', () => new Promise(() => {}), 'timeout'],
    ['answers NaN', () => Number.NaN, 'invalid_amount'],
    ['answers a negative amount', () => -1, 'invalid_amount'],
    ['answers Infinity', () => Number.POSITIVE_INFINITY, 'invalid_amount'],
    ['answers a string', () => '3', 'invalid_amount'],
    ['answers undefined', () => undefined, 'invalid_amount'],
    ['resolves to a string', async () => '3', 'invalid_amount'],
  ];
  for (const [what, count, reason] of faulty) {
    test(`a module that ${what} records its fallback, counted as ${reason}`, async () => {
      const { meters, records, faults, warnings } = parts(20);
      await meters
        .start(moduleOf(count, { fallback: 0.5 }), 'k', head, { requestId: 'req-1' })
        .end(end);
      assert.deepEqual(records, [['k', 0.5, 'test']]);
      assert.deepEqual(faults, [['test', reason]]);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]?.requestId, 'req-1');
      assert.equal(warnings[0]?.reason, reason);
      // The default fallback is 0: nothing recorded, still counted.
      const { meters: plain, records: none, faults: counted } = parts(20);
      await plain.start(moduleOf(count), 'k', head).end(end);
      assert.deepEqual(none, []);
      assert.deepEqual(counted, [['test', reason]]);
    });
  }

  test('a module whose tap decision throws gets no tap, and its count still runs', async () => {
    const { meters, records, faults } = parts();
    const meter = meters.start(
      moduleOf(() => 1, {
        tapResponse: () => {
          throw new Error('module bug');
        },
      }),
      'k',
      head,
    );
    assert.equal(meter.tapResponse(200, {}), undefined);
    await meter.end(end);
    assert.deepEqual(records, [['k', 1, 'test']]);
    assert.deepEqual(faults, [['test', 'threw']]);
  });
});
