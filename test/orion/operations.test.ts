import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectOperation } from '../../src/orion/operations.ts';

describe('Orion subscription operations', () => {
  const cases: [string, string, ReturnType<typeof detectOperation>][] = [
    ['POST', '/v2/subscriptions', { version: 'v2', kind: 'create' }],
    [
      'POST',
      '/v2/subscriptions?options=skipInitialNotification',
      { version: 'v2', kind: 'create' },
    ],
    ['PATCH', '/v2/subscriptions/5a1b', { version: 'v2', kind: 'update', pathId: '5a1b' }],
    ['DELETE', '/v2/subscriptions/5a1b/', { version: 'v2', kind: 'delete', pathId: '5a1b' }],
    ['GET', '/v2/subscriptions/5a1b', undefined],
    ['GET', '/v2/entities', undefined],
    ['POST', '/v1/subscribeContext', { version: 'v1', kind: 'create' }],
    ['POST', '/ngsi10/updateContextSubscription', { version: 'v1', kind: 'update' }],
    ['POST', '/v1/unsubscribeContext', { version: 'v1', kind: 'delete' }],
    ['POST', '/v1/registry/subscribeContextAvailability', { version: 'v1', kind: 'create' }],
    ['POST', '/ngsi9/unsubscribeContextAvailability', { version: 'v1', kind: 'delete' }],
    ['POST', '/ngsi9/updateContextAvailabilitySubscription', { version: 'v1', kind: 'update' }],
    ['POST', '/v1/contextSubscriptions', { version: 'v1', kind: 'create' }],
    ['PUT', '/v1/contextSubscriptions/abc', { version: 'v1', kind: 'update', pathId: 'abc' }],
    [
      'DELETE',
      '/ngsi10/contextSubscriptions/abc',
      { version: 'v1', kind: 'delete', pathId: 'abc' },
    ],
    [
      'DELETE',
      '/v1/registry/contextAvailabilitySubscriptions/abc',
      { version: 'v1', kind: 'delete', pathId: 'abc' },
    ],
    ['POST', '/v1/queryContext', undefined],
    ['POST', '/v1/contextEntities/Room1', undefined],
    ['GET', '/v1/contextEntity/Room1', undefined],
    ['POST', '/other/v2/subscriptions', undefined],
  ];
  for (const [method, path, expected] of cases) {
    test(`${method} ${path} is ${expected ? `${expected.version} ${expected.kind}` : 'not a subscription operation'}`, () => {
      assert.deepEqual(detectOperation(method, path), expected);
    });
  }

  test('stays linear on a crafted path that made the original hang', () => {
    const path = `/v1/${'a'.repeat(50_000)}-/${'b/'.repeat(50_000)}`;
    assert.equal(detectOperation('POST', path), undefined);
  });
});
