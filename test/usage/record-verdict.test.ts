import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeRecordAnswer } from '../../src/usage/record-verdict.ts';

const expected = (k: number, status = 422) =>
  ({
    outcome: 'refused',
    status,
    message: `Invalid correlation number, expected: ${k}`,
  }) as const;

test('a 201 accepts the record', () => {
  assert.deepEqual(judgeRecordAnswer(4, { outcome: 'created', value: undefined }), {
    verdict: 'accepted',
    earlier: false,
  });
});

test('expected N+1 to record N means the marketplace accepted it earlier', () => {
  assert.deepEqual(judgeRecordAnswer(4, expected(5)), { verdict: 'accepted', earlier: true });
});

test('expected beyond N+1 or below N means the two sides are out of step', () => {
  for (const k of [6, 40, 3, 0]) {
    assert.deepEqual(judgeRecordAnswer(4, expected(k)), {
      verdict: 'out-of-step',
      expected: k,
      message: `Invalid correlation number, expected: ${k}`,
    });
  }
});

test('expected N itself, the same text with another status, or any other 4xx is a rejection', () => {
  for (const answer of [
    expected(4),
    expected(5, 403),
    { outcome: 'refused', status: 422, message: 'Invalid correlation number, expected: 5 ' },
    {
      outcome: 'refused',
      status: 422,
      message: 'The specified unit is not included in the pricing model',
    },
    { outcome: 'refused', status: 403, message: "You don't belong to the customer organization" },
    { outcome: 'refused', status: 400, message: 'The provided body is not a valid JSON' },
  ] as const) {
    assert.deepEqual(judgeRecordAnswer(4, answer), {
      verdict: 'rejected',
      status: answer.status,
      message: answer.message,
    });
  }
});

test('a 401 concerns the key and an unknown outcome stays unknown', () => {
  assert.deepEqual(judgeRecordAnswer(0, { outcome: 'key-refused', message: 'Invalid apikey' }), {
    verdict: 'key-refused',
    message: 'Invalid apikey',
  });
  assert.deepEqual(judgeRecordAnswer(0, { outcome: 'unknown', message: 'timeout' }), {
    verdict: 'unknown',
    message: 'timeout',
  });
});
