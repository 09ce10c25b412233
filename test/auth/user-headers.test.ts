import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IdmUser } from '../../src/auth/idm-client.ts';
import { userHeaders } from '../../src/auth/user-headers.ts';

const roles = { admin: 'provider', customer: 'customer', seller: 'seller' };
const user: IdmUser = {
  id: 'alice',
  displayName: 'Αλίκη',
  email: 'alice@example.org',
  appId: 'app-1',
  organizations: [],
  roles: [
    { id: 'Customer', name: 'Customer' },
    { id: 'other', name: 'Other' },
  ],
};

test('identity headers: encoded display name, known roles only, the bearer token', () => {
  assert.deepEqual(userHeaders(user, 'token-1', roles), {
    authorization: 'Bearer token-1',
    'x-nick-name': 'alice',
    'x-email': 'alice@example.org',
    'x-display-name': encodeURIComponent('Αλίκη'),
    'x-roles': 'customer,',
  });
});

test('identity headers are computed once per user and token, never reused for another token', () => {
  const first = userHeaders(user, 'token-1', roles);
  assert.equal(userHeaders(user, 'token-1', roles), first);
  assert.equal(userHeaders(user, 'token-2', roles).authorization, 'Bearer token-2');
  assert.equal(userHeaders(user, 'token-2', { ...roles, customer: 'x' })['x-roles'], '');
  assert.throws(() => {
    (first as Record<string, unknown>).authorization = 'Bearer stolen';
  }, TypeError);
});
