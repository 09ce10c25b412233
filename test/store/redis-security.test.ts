/**
 * Redis behind an ACL user and password, and behind TLS with a test CA (real redis-server, built
 * with TLS by Debian): the store opens with the right settings, and start-up fails with one line
 * naming the setting, never the password, with a wrong one.
 */
import assert from 'node:assert/strict';
import { setDefaultResultOrder } from 'node:dns';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../config.ts';
import { openStore } from '../../src/store/open.ts';
import { createTestPki, type TestPki } from '../support/certificates.ts';
import { cli } from '../support/cli.ts';
import { freePort } from '../support/free-port.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';

// The test certificate names localhost: its IPv4 address is where the servers listen.
setDefaultResultOrder('ipv4first');

const database = (env: Record<string, string>) =>
  loadConfig({ ACCOUNTING_PROXY_DB: 'redis', ACCOUNTING_PROXY_REDIS_PREFIX: 'sec:', ...env })
    .database;

async function opensAndServes(env: Record<string, string>) {
  const store = await openStore(database(env));
  try {
    await store.addAdmin('root');
    assert.deepEqual(await store.listAdmins(), ['root']);
    await store.deleteAdmin('root');
  } finally {
    await store.close();
  }
}

async function refusedNaming(env: Record<string, string>, setting: RegExp, secret?: string) {
  for (const failFast of [false, true]) {
    await assert.rejects(openStore(database(env), { failFast }), (error: Error) => {
      assert.match(error.message, /^cannot open the store \(Redis at [^)]+\): /);
      assert.match(error.message, setting);
      assert.ok(!error.message.includes('\n'), 'one line');
      if (secret) assert.ok(!error.message.includes(secret), 'the password is not shown');
      return true;
    });
  }
  // The CLI, on the same settings, says the same in one line and exits non-zero.
  const result = await cli(
    { ...process.env, ...env, ACCOUNTING_PROXY_DB: 'redis' },
    'getAdmins',
    '/svc',
  );
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, setting);
  if (secret) assert.ok(!result.stderr.includes(secret));
}

describe('Redis with an ACL user and a password', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer({
      args: [
        '--user',
        'proxy',
        'on',
        '>pr0xy-secret',
        '~*',
        '&*',
        '+@all',
        '--user',
        'default',
        'off',
      ],
    });
  });
  after(() => server.stop());

  test('opens with the user and password of the URL, or of their own settings', async () => {
    await opensAndServes({
      ACCOUNTING_PROXY_REDIS_URL: `redis://proxy:pr0xy-secret@127.0.0.1:${server.port}/0`,
    });
    await opensAndServes({
      ACCOUNTING_PROXY_REDIS_PORT: String(server.port),
      ACCOUNTING_PROXY_REDIS_HOST: '127.0.0.1',
      ACCOUNTING_PROXY_REDIS_USERNAME: 'proxy',
      ACCOUNTING_PROXY_REDIS_PASSWORD: 'pr0xy-secret',
    });
  });

  test('a wrong password fails start-up naming the setting, not the password', async () => {
    await refusedNaming(
      { ACCOUNTING_PROXY_REDIS_URL: `redis://proxy:wrong-pa55@127.0.0.1:${server.port}/0` },
      /ACCOUNTING_PROXY_REDIS_PASSWORD/,
      'wrong-pa55',
    );
    await refusedNaming(
      { ACCOUNTING_PROXY_REDIS_URL: `redis://127.0.0.1:${server.port}/0` },
      /ACCOUNTING_PROXY_REDIS_PASSWORD/,
    );
  });
});

describe('Redis over TLS', () => {
  let pki: TestPki;
  let server: RedisServer;
  before(async () => {
    pki = createTestPki();
    const port = await freePort();
    server = await startRedisServer({
      port,
      args: [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        pki.serverCert,
        '--tls-key-file',
        pki.serverKey,
        '--tls-ca-cert-file',
        pki.ca,
        '--tls-auth-clients',
        'no',
      ],
    });
  });
  after(() => server.stop());

  test('opens over rediss:// with the test CA', async () => {
    await opensAndServes({
      ACCOUNTING_PROXY_REDIS_URL: `rediss://localhost:${server.port}/0`,
      ACCOUNTING_PROXY_REDIS_TLS_CA: pki.ca,
    });
  });

  test('a CA that did not sign the server, or no TLS at all, fails start-up naming the TLS settings', async () => {
    await refusedNaming(
      { ACCOUNTING_PROXY_REDIS_URL: `rediss://localhost:${server.port}/0` },
      /ACCOUNTING_PROXY_REDIS_TLS_CA/,
    );
    await refusedNaming(
      { ACCOUNTING_PROXY_REDIS_URL: `redis://localhost:${server.port}/0` },
      /ACCOUNTING_PROXY_REDIS_TLS/,
    );
  });
});
