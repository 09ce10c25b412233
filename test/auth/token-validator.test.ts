import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createIdmClient } from '../../src/auth/idm-client.ts';
import { createTokenValidator } from '../../src/auth/token-validator.ts';
import { type FakeIdm, keyrockUser, startFakeIdm } from '../support/idm.ts';
import { testClock } from '../support/test-clock.ts';

describe('token cache while the IdM is down', () => {
  let idm: FakeIdm;
  before(async () => {
    idm = await startFakeIdm();
    idm.users.set('alice-token', keyrockUser('alice', 'app-1'));
  });
  after(async () => {
    await idm.close();
  });

  test('a cached token keeps working until its TTL, then is refused as unavailable, not invalid', async () => {
    const clock = testClock();
    const validator = createTokenValidator({
      idm: createIdmClient({ baseUrl: idm.url, timeoutMs: 1000 }),
      ttlMs: 1000,
      clock,
    });
    assert.equal((await validator.validate('alice-token'))?.id, 'alice');
    await idm.goDown();
    try {
      assert.equal(validator.cached('alice-token')?.id, 'alice', 'served from the cache');
      clock.advance(999);
      assert.equal(validator.cached('alice-token')?.id, 'alice', 'until its TTL');
      clock.advance(2);
      assert.equal(validator.cached('alice-token'), undefined);
      await assert.rejects(validator.validate('alice-token'), { code: 'IDM_UNAVAILABLE' });
    } finally {
      await idm.comeBack();
    }
    assert.equal((await validator.validate('alice-token'))?.id, 'alice', 'recovers');
    assert.equal(idm.calls.get('alice-token'), 2, 'one call per TTL while it was up');
  });
});
