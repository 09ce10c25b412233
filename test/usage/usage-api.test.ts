import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createUsageApi } from '../../src/usage/usage-api.ts';
import type { UsageRecord } from '../../src/usage/usage-record.ts';

// Answers POST /usage with the status and body named by the X-API-KEY header: `status body`.
const server = createServer((req, res) => {
  req.resume();
  const [status, ...body] = String(req.headers['x-api-key']).split(' ');
  if (status === 'cut') return req.socket.destroy();
  res.writeHead(Number(status), { 'content-type': 'application/json' });
  res.end(body.join(' '));
});
let baseUrl = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const record = {} as UsageRecord;

test('classifies each answer of the usage API by what it means for the call', async () => {
  const api = createUsageApi({ baseUrl, timeoutMs: 2000 });
  const cases: [string, unknown][] = [
    ['201 {}', { outcome: 'created', value: undefined }],
    [
      '401 {"error":"Apikey uncommitted"}',
      { outcome: 'key-refused', message: 'Apikey uncommitted' },
    ],
    [
      '422 {"error":"Invalid correlation number, expected: 1"}',
      { outcome: 'refused', status: 422, message: 'Invalid correlation number, expected: 1' },
    ],
    ['403 {"error":"no"}', { outcome: 'refused', status: 403, message: 'no' }],
    ['400 not json', { outcome: 'refused', status: 400, message: 'not json' }],
    ['409', { outcome: 'refused', status: 409, message: '' }],
    ['408 {"error":"slow"}', { outcome: 'unknown', message: '/usage: 408 slow' }],
    ['429', { outcome: 'unknown', message: '/usage: 429' }],
    [
      '500 {"error":"The server has failed validating the usage"}',
      {
        outcome: 'unknown',
        message: '/usage: 500 The server has failed validating the usage',
      },
    ],
  ];
  for (const [answer, meaning] of cases) {
    assert.deepEqual(await api.sendRecord(record, answer), meaning, answer);
  }
  const cut = await api.sendRecord(record, 'cut');
  assert.equal(cut.outcome, 'unknown');
});

test('a created specification without an href is an unknown outcome', async () => {
  const api = createUsageApi({ baseUrl, timeoutMs: 2000 });
  assert.deepEqual(await api.registerSpecification({} as never, '201 {"href":"http://s/1"}'), {
    outcome: 'created',
    value: 'http://s/1',
  });
  assert.deepEqual(await api.registerSpecification({} as never, '201 {}'), {
    outcome: 'unknown',
    message: '/usageSpecification: the created specification has no href',
  });
});
