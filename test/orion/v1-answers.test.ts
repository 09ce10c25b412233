import assert from 'node:assert/strict';
import { test } from 'node:test';
import { v1SubscriptionId, v1Unsubscribed } from '../../src/orion/v1-answers.ts';

test('a v1 unsubscribe is done when Orion cancelled it now or had none by that id', () => {
  const answer = (code: unknown) => ({ subscriptionId: 's1', statusCode: { code } });
  assert.equal(v1Unsubscribed(200, answer('200')), true);
  assert.equal(v1Unsubscribed(200, answer(200)), true);
  assert.equal(v1Unsubscribed(200, answer('404')), true);
  assert.equal(v1Unsubscribed(200, answer('500')), false);
  assert.equal(v1Unsubscribed(500, answer('200')), false);
  assert.equal(v1Unsubscribed(200, undefined), false);
  assert.equal(v1Unsubscribed(200, {}), false);
});

test('the id of a v1 subscribe or update answer', () => {
  assert.equal(v1SubscriptionId({ subscribeResponse: { subscriptionId: 'a' } }), 'a');
  assert.equal(v1SubscriptionId({ subscriptionId: 'b' }), 'b');
  assert.equal(v1SubscriptionId({ subscriptionId: '' }), undefined);
  assert.equal(v1SubscriptionId('x'), undefined);
});
