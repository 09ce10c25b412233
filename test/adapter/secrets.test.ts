import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, newPassword, verifyPassword } from '../../src/adapter/secrets.ts';

test('passwords are 192 random bits; only their scrypt hash is kept, and it checks exactly', async () => {
  const password = newPassword();
  assert.match(password, /^[A-Za-z0-9_-]{32}$/);
  assert.notEqual(newPassword(), password);
  const stored = await hashPassword(password);
  assert.match(stored, /^scrypt:16384:8:1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/);
  assert.ok(!stored.includes(password));
  assert.notEqual(await hashPassword(password), stored, 'a new salt each time');
  assert.equal(await verifyPassword(password, stored), true);
  assert.equal(await verifyPassword(`${password}x`, stored), false);
  assert.equal(await verifyPassword('', stored), false);
  for (const malformed of ['', 'md5:abc', 'scrypt:0:8:1:c2FsdA:aGFzaA', 'scrypt:16384:8:1::']) {
    assert.equal(await verifyPassword(password, malformed), false, malformed);
  }
});
