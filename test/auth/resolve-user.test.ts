import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IdmUser } from '../../src/auth/idm-client.ts';
import { resolveUser } from '../../src/auth/resolve-user.ts';
import type { TokenValidator } from '../../src/auth/token-validator.ts';
import { isProxyError, proxyError } from '../../src/errors.ts';

const alice: IdmUser = {
  id: 'alice',
  displayName: 'A',
  email: 'a@x',
  appId: 'app',
  roles: [],
  organizations: [],
};
const tokens = (answers: Record<string, IdmUser | null | 'down'>, cached = new Set<string>()) =>
  ({
    cached: (token) => (cached.has(token) ? (answers[token] as IdmUser | null) : undefined),
    validate: async (token) => {
      const answer = answers[token];
      if (answer === 'down') throw proxyError('IDM_UNAVAILABLE');
      return answer ?? null;
    },
  }) satisfies TokenValidator;

test('a cached token resolves synchronously, to one identity per user and token', () => {
  const validator = tokens({ t1: alice }, new Set(['t1']));
  const first = resolveUser(validator, { 'x-auth-token': 't1' });
  const second = resolveUser(validator, { authorization: 'Bearer t1' });
  assert.deepEqual(first, { token: 't1', user: alice });
  assert.equal(second, first);
});

test('refusals come back as table errors, the IdM asked only for unknown tokens', async () => {
  const validator = tokens({ bad: null, down: 'down', t2: alice });
  const code = (resolved: unknown) => (isProxyError(resolved) ? resolved.code : resolved);
  assert.equal(code(resolveUser(validator, {})), 'TOKEN_MISSING');
  assert.equal(code(resolveUser(validator, { authorization: 'Basic x' })), 'TOKEN_TYPE');
  assert.equal(code(resolveUser(validator, { 'x-auth-token': '' })), 'TOKEN_INVALID');
  assert.equal(code(await resolveUser(validator, { 'x-auth-token': 'bad' })), 'TOKEN_INVALID');
  assert.equal(code(await resolveUser(validator, { 'x-auth-token': 'down' })), 'IDM_UNAVAILABLE');
  assert.deepEqual(await resolveUser(validator, { 'x-auth-token': 't2' }), {
    token: 't2',
    user: alice,
  });
});
