import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultConfig, environmentVariables, loadConfig } from '../config.ts';

describe('configuration', () => {
  test('defaults match the original keys with our documented changes', () => {
    const config = loadConfig({});
    assert.deepEqual(config, defaultConfig());
    assert.equal(config.accounting_proxy.port, 9000);
    assert.equal(config.accounting_proxy.https.enabled, false);
    assert.equal(config.database.type, 'sqlite');
    assert.equal(config.database.name, 'accountingDB.sqlite');
    assert.deepEqual(config.modules.accounting, ['call', 'megabyte', 'millisecond']);
    assert.equal(
      config.usageAPI.url,
      'http://localhost:8080/DSUsageManagement/api/usageManagement/v2',
    );
    assert.equal(config.usageAPI.schedule, '0 0 * * *');
    assert.equal(config.resources.contextBroker, false);
    assert.equal(config.resources.notification_port, 9002);
    assert.equal(config.oauth2.idm_url, 'http://localhost:3000');
    assert.equal(config.log.level, 'info');
    assert.equal(config.api.administration_paths.checkURL, '/accounting_proxy/urls');
  });

  test('every key can be overridden by its environment variable', () => {
    const certFile = fileURLToPath(import.meta.url);
    const config = loadConfig({
      ACCOUNTING_PROXY_PORT: '9100',
      ACCOUNTING_PROXY_HTTPS_CERT: certFile,
      ACCOUNTING_PROXY_HTTPS_KEY: certFile,
      ACCOUNTING_PROXY_HTTPS_CA: certFile,
      ACCOUNTING_PROXY_DB: 'redis',
      ACCOUNTING_PROXY_DB_NAME: '3',
      ACCOUNTING_PROXY_REDIS_HOST: 'redis.internal',
      ACCOUNTING_PROXY_REDIS_PORT: '6380',
      ACCOUNTING_PROXY_REDIS_PREFIX: 'shop-a:',
      ACCOUNTING_PROXY_MODULES: 'call, megabyte',
      ACCOUNTING_PROXY_IDM_URL: 'https://idm.example.org/',
      ACCOUNTING_PROXY_USAGE_API_URL: 'http://bae:8006/usage/v2',
      ACCOUNTING_PROXY_USAGE_SCHEDULE: '*/30 * * * * *',
      ACCOUNTING_PROXY_CONTEXT_BROKER: 'true',
      ACCOUNTING_PROXY_NOTIFICATION_PORT: '9102',
      ACCOUNTING_PROXY_LOG_LEVEL: 'debug',
    });
    assert.equal(config.accounting_proxy.port, 9100);
    assert.deepEqual(config.accounting_proxy.https, {
      enabled: true,
      certFile,
      keyFile: certFile,
      caFile: certFile,
    });
    assert.deepEqual(config.database, {
      ...defaultConfig().database,
      type: 'redis',
      name: '3',
      redis_host: 'redis.internal',
      redis_port: 6380,
      redis_prefix: 'shop-a:',
    });
    assert.deepEqual(config.modules.accounting, ['call', 'megabyte']);
    assert.equal(config.oauth2.idm_url, 'https://idm.example.org');
    assert.equal(config.usageAPI.url, 'http://bae:8006/usage/v2');
    assert.equal(config.usageAPI.schedule, '*/30 * * * * *');
    assert.equal(config.resources.contextBroker, true);
    assert.equal(config.resources.notification_port, 9102);
    assert.equal(config.log.level, 'debug');
  });

  test('Redis uses database 0 when no index is given', () => {
    assert.equal(loadConfig({ ACCOUNTING_PROXY_DB: 'redis' }).database.name, '0');
  });

  const invalid: [Record<string, string>, string][] = [
    [
      { ACCOUNTING_PROXY_PORT: 'abc' },
      'ACCOUNTING_PROXY_PORT must be an integer 1-65535, got "abc"',
    ],
    [
      { ACCOUNTING_PROXY_PORT: '70000' },
      'ACCOUNTING_PROXY_PORT must be an integer 1-65535, got "70000"',
    ],
    [
      { ACCOUNTING_PROXY_PORT: '1.5' },
      'ACCOUNTING_PROXY_PORT must be an integer 1-65535, got "1.5"',
    ],
    [
      { ACCOUNTING_PROXY_DB: 'mysql' },
      'ACCOUNTING_PROXY_DB must be one of sqlite, redis, got "mysql"',
    ],
    [
      { ACCOUNTING_PROXY_DB: 'redis', ACCOUNTING_PROXY_DB_NAME: 'x' },
      'ACCOUNTING_PROXY_DB_NAME (Redis database index) must be an integer 0-65535, got "x"',
    ],
    [
      { ACCOUNTING_PROXY_DB_NAME: ' ' },
      'ACCOUNTING_PROXY_DB_NAME must be a non-empty string, got " "',
    ],
    [
      { ACCOUNTING_PROXY_MODULES: 'call,../etc' },
      'ACCOUNTING_PROXY_MODULES must be a comma-separated list of unit names (letters, digits, _ and -), got "call,../etc"',
    ],
    [
      { ACCOUNTING_PROXY_MODULES: ',' },
      'ACCOUNTING_PROXY_MODULES must be a comma-separated list of unit names (letters, digits, _ and -), got ","',
    ],
    [
      { ACCOUNTING_PROXY_IDM_URL: 'idm:3000' },
      'ACCOUNTING_PROXY_IDM_URL must be an http(s) URL, got "idm:3000"',
    ],
    [
      { ACCOUNTING_PROXY_USAGE_API_URL: 'nope' },
      'ACCOUNTING_PROXY_USAGE_API_URL must be an http(s) URL, got "nope"',
    ],
    [
      { ACCOUNTING_PROXY_USAGE_SCHEDULE: '0 0 * *' },
      'ACCOUNTING_PROXY_USAGE_SCHEDULE must be a cron expression with 5 or 6 fields, got "0 0 * *"',
    ],
    [
      { ACCOUNTING_PROXY_USAGE_SCHEDULE: '0 25 * * *' },
      'ACCOUNTING_PROXY_USAGE_SCHEDULE must be a cron expression with 5 or 6 fields, got "0 25 * * *"',
    ],
    [
      { ACCOUNTING_PROXY_CONTEXT_BROKER: 'maybe' },
      'ACCOUNTING_PROXY_CONTEXT_BROKER must be true or false, got "maybe"',
    ],
    [
      { ACCOUNTING_PROXY_NOTIFICATION_PORT: '0' },
      'ACCOUNTING_PROXY_NOTIFICATION_PORT must be an integer 1-65535, got "0"',
    ],
    [
      { ACCOUNTING_PROXY_LOG_LEVEL: 'loud' },
      'ACCOUNTING_PROXY_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ],
    [
      { ACCOUNTING_PROXY_HTTPS_CERT: '/no/such/cert.pem' },
      'ACCOUNTING_PROXY_HTTPS_CERT must be the path of a readable file, got "/no/such/cert.pem"',
    ],
    [
      { ACCOUNTING_PROXY_HTTPS_CERT: fileURLToPath(import.meta.url) },
      'ACCOUNTING_PROXY_HTTPS_CERT and ACCOUNTING_PROXY_HTTPS_KEY must be set together',
    ],
  ];

  for (const [env, message] of invalid) {
    test(`refuses ${JSON.stringify(env)} naming the variable`, () => {
      assert.throws(() => loadConfig(env), { code: 'CONFIG_INVALID', message });
    });
  }

  test('Redis: the URL wins over host, port, database and credentials; Sentinels and Cluster', () => {
    const redis = (env: NodeJS.ProcessEnv) =>
      loadConfig({ ACCOUNTING_PROXY_DB: 'redis', ...env }).database;
    const fromUrl = redis({
      ACCOUNTING_PROXY_REDIS_HOST: 'ignored',
      ACCOUNTING_PROXY_REDIS_PASSWORD: 'ignored',
      ACCOUNTING_PROXY_REDIS_URL: 'rediss://proxy:p%40ss@redis.internal:6390/2',
    });
    assert.deepEqual(
      [
        fromUrl.redis_host,
        fromUrl.redis_port,
        fromUrl.name,
        fromUrl.redis_username,
        fromUrl.redis_password,
        fromUrl.redis_tls,
      ],
      ['redis.internal', 6390, '2', 'proxy', 'p@ss', true],
    );
    const sentinel = redis({
      ACCOUNTING_PROXY_REDIS_SENTINELS: '10.0.0.1:26379, [::1]:26380',
      ACCOUNTING_PROXY_REDIS_SENTINEL_NAME: 'accounting',
      ACCOUNTING_PROXY_REDIS_WAIT_REPLICAS: '1',
    });
    assert.deepEqual(sentinel.redis_sentinels, [
      { host: '10.0.0.1', port: 26379 },
      { host: '::1', port: 26380 },
    ]);
    assert.equal(sentinel.redis_wait_replicas, 1);
    assert.deepEqual(redis({ ACCOUNTING_PROXY_REDIS_CLUSTER: 'a:7000,b:7001' }).redis_cluster, [
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
    ]);
    const refused: [NodeJS.ProcessEnv, RegExp][] = [
      [
        { ACCOUNTING_PROXY_REDIS_URL: 'http://user:hunter2@host:1' },
        /REDIS_URL must be redis:\/\//,
      ],
      [{ ACCOUNTING_PROXY_REDIS_URL: 'redis://user:hunter2@host:1/x' }, /REDIS_URL must be/],
      [{ ACCOUNTING_PROXY_REDIS_SENTINELS: 'a:1' }, /REDIS_SENTINEL_NAME must name/],
      [{ ACCOUNTING_PROXY_REDIS_SENTINELS: 'a' }, /REDIS_SENTINELS must be a comma-separated/],
      [
        { ACCOUNTING_PROXY_REDIS_CLUSTER: 'a:1', ACCOUNTING_PROXY_DB_NAME: '1' },
        /DB_NAME must be 0 on a Redis Cluster/,
      ],
      [
        {
          ACCOUNTING_PROXY_REDIS_CLUSTER: 'a:1',
          ACCOUNTING_PROXY_REDIS_SENTINELS: 'a:1',
          ACCOUNTING_PROXY_REDIS_SENTINEL_NAME: 'n',
        },
        /cannot both be set/,
      ],
      [{ ACCOUNTING_PROXY_REDIS_PREFIX: 'a{b}:' }, /REDIS_PREFIX must be a prefix without/],
    ];
    for (const [env, message] of refused) {
      assert.throws(
        () => redis(env),
        (error: Error) => message.test(error.message) && !error.message.includes('hunter2'),
        JSON.stringify(env),
      );
    }
  });

  test('tmf4: each TMF API under the base URL unless set apart, roles and unit names read', () => {
    const config = loadConfig({
      ACCOUNTING_PROXY_MARKETPLACE: 'tmf4',
      ACCOUNTING_PROXY_TMF_URL: 'https://tmf.example.com/',
      ACCOUNTING_PROXY_TMF_USAGE_URL: 'https://usage.example.com/api',
      ACCOUNTING_PROXY_TMF_SELLER: 'urn:ngsi-ld:organization:provider',
      ACCOUNTING_PROXY_TMF_CUSTOMER_ROLES: 'Buyer, CONSUMER',
      ACCOUNTING_PROXY_TMF_UNITS: 'call=api call,megabyte=MB',
    });
    assert.equal(config.marketplace.mode, 'tmf4');
    assert.equal(config.tmf.inventory_url, 'https://tmf.example.com/tmf-api/productInventory/v4');
    assert.equal(
      config.tmf.catalog_url,
      'https://tmf.example.com/tmf-api/productCatalogManagement/v4',
    );
    assert.equal(config.tmf.party_url, 'https://tmf.example.com/tmf-api/party/v4');
    assert.equal(config.tmf.usage_url, 'https://usage.example.com/api');
    assert.deepEqual(config.tmf.customer_roles, ['buyer', 'consumer']);
    assert.deepEqual(config.tmf.units, [
      { unit: 'call', name: 'api call' },
      { unit: 'megabyte', name: 'MB' },
    ]);
    // bae7 ignores them: nothing to check, nothing derived.
    assert.equal(loadConfig({ ACCOUNTING_PROXY_TMF_UNITS: 'x=y' }).tmf.inventory_url, '');
  });

  test('tmf4: a missing or contradictory setting stops start-up naming it, never a secret', () => {
    const tmf4 = {
      ACCOUNTING_PROXY_MARKETPLACE: 'tmf4',
      ACCOUNTING_PROXY_TMF_URL: 'http://tmf:8080',
      ACCOUNTING_PROXY_TMF_SELLER: 'urn:ngsi-ld:organization:provider',
    };
    const refused: [Record<string, string>, RegExp][] = [
      [{ ACCOUNTING_PROXY_TMF_URL: '' }, /TMF_URL must be an http\(s\) URL/],
      [
        { ...tmf4, ACCOUNTING_PROXY_TMF_URL: undefined as unknown as string },
        /ACCOUNTING_PROXY_TMF_INVENTORY_URL \(or ACCOUNTING_PROXY_TMF_URL\) must be set/,
      ],
      [{ ...tmf4, ACCOUNTING_PROXY_TMF_SELLER: undefined as unknown as string }, /TMF_SELLER must/],
      [
        {
          ...tmf4,
          ACCOUNTING_PROXY_TMF_CLIENT_ID: 'proxy',
          ACCOUNTING_PROXY_TMF_CLIENT_SECRET: 'hunter2',
        },
        /must be set together/,
      ],
      [
        {
          ...tmf4,
          ACCOUNTING_PROXY_TMF_TOKEN: 'hunter2',
          ACCOUNTING_PROXY_TMF_TOKEN_URL: 'http://kc/token',
          ACCOUNTING_PROXY_TMF_CLIENT_ID: 'proxy',
          ACCOUNTING_PROXY_TMF_CLIENT_SECRET: 'hunter2',
        },
        /cannot both be set/,
      ],
      [{ ...tmf4, ACCOUNTING_PROXY_TMF_UNITS: 'call' }, /TMF_UNITS must be comma-separated/],
      [{ ...tmf4, ACCOUNTING_PROXY_TMF_UNITS: 'token=tokens' }, /names the unit "token"/],
      [{ ...tmf4, ACCOUNTING_PROXY_TMF_CUSTOMER_ROLES: ' , ' }, /CUSTOMER_ROLES must be/],
      [{ ...tmf4, ACCOUNTING_PROXY_TMF_USAGE_WINDOW: '10' }, /USAGE_WINDOW must be an integer/],
      [{ ...tmf4, ACCOUNTING_PROXY_MARKETPLACE: 'bae11' }, /MARKETPLACE must be one of bae7, tmf4/],
    ];
    for (const [env, message] of refused) {
      assert.throws(
        () =>
          loadConfig(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined))),
        (error: Error) => message.test(error.message) && !error.message.includes('hunter2'),
        JSON.stringify(env),
      );
    }
  });

  test('the README documents every environment variable', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const variable of environmentVariables) {
      assert.ok(readme.includes(`\`${variable.name}\``), `${variable.name} missing from README`);
      const row = new RegExp(
        `^\\| \`${variable.name}\` +\\| ${variable.key.replaceAll('.', '\\.')} +\\|`,
        'm',
      );
      assert.match(readme, row, `the README row of ${variable.name} names ${variable.key}`);
    }
  });

  test('every key of the configuration has its variable, whose value lands there', () => {
    const leaves = (value: unknown, path: string[] = []): string[] =>
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]))
        : [path.join('.')];
    // Derived: HTTPS is on when a certificate and its key are set.
    const keys = leaves(defaultConfig()).filter((key) => key !== 'accounting_proxy.https.enabled');
    assert.deepEqual(environmentVariables.map((v) => v.key).sort(), keys.sort());
    const config = loadConfig({
      ACCOUNTING_PROXY_ROLE_ADMIN: 'Provider',
      ACCOUNTING_PROXY_ROLE_SELLER: 'seller-role',
      ACCOUNTING_PROXY_ROLE_CUSTOMER: 'customer-role',
      ACCOUNTING_PROXY_PATH_UNITS: '/marketplace/units',
    });
    assert.deepEqual(config.oauth2.roles, {
      admin: 'provider',
      seller: 'seller-role',
      customer: 'customer-role',
    });
    assert.equal(config.api.administration_paths.units, '/marketplace/units');
    assert.throws(() => loadConfig({ ACCOUNTING_PROXY_PATH_KEYS: 'keys' }), {
      code: 'CONFIG_INVALID',
      message: 'ACCOUNTING_PROXY_PATH_KEYS must be a path starting with /, got "keys"',
    });
  });
});

describe('proxy start-up', () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const start = (env: Record<string, string>) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, ACCOUNTING_PROXY_DB_NAME: ':memory:', ...env },
      timeout: 30_000,
    });
  const failsWith = async (env: Record<string, string>, line: string) => {
    await assert.rejects(start(env), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.equal(error.stderr, `accounting-proxy: ${line}\n`);
      return true;
    });
  };

  test('a bad configuration value stops start-up with one line and exit code 1', async () => {
    await failsWith(
      { ACCOUNTING_PROXY_PORT: 'abc' },
      'ACCOUNTING_PROXY_PORT must be an integer 1-65535, got "abc"',
    );
  });

  test('a port in use stops start-up with one line and exit code 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await failsWith({ ACCOUNTING_PROXY_PORT: String(port) }, `port ${port} is already in use`);
    } finally {
      blocker.close();
    }
  });

  test('an unreachable Redis stops start-up with one line and exit code 1', async () => {
    await failsWith(
      {
        ACCOUNTING_PROXY_DB: 'redis',
        ACCOUNTING_PROXY_DB_NAME: '0',
        ACCOUNTING_PROXY_REDIS_HOST: '127.0.0.1',
        ACCOUNTING_PROXY_REDIS_PORT: '1',
      },
      'cannot open the store (Redis at 127.0.0.1:1): connect ECONNREFUSED 127.0.0.1:1',
    );
  });
});

describe('JWT settings', () => {
  const issuers = (value: unknown) => ({ ACCOUNTING_PROXY_JWT_ISSUERS: JSON.stringify(value) });

  test('an issuer needs only issuer and jwksUrl; the rest has defaults', () => {
    const config = loadConfig(
      issuers([{ issuer: 'https://v', jwksUrl: 'https://v/.well-known/jwks' }]),
    );
    assert.deepEqual(config.jwt.issuers, [
      {
        issuer: 'https://v',
        jwksUrl: 'https://v/.well-known/jwks',
        algorithms: ['ES256', 'RS256'],
        identityClaims: [
          'verifiableCredential.issuer',
          'verifiableCredential.issuer.id',
          'vc.credentialSubject.mandate.mandator.organizationIdentifier',
          'vc.issuer',
          'sub',
        ],
        clockTolerance: 30,
      },
    ]);
    const keyrock = loadConfig({ ACCOUNTING_PROXY_KEYROCK_JWT_SECRETS: 'app-1:abc, app-2:d:e' });
    assert.deepEqual(keyrock.jwt.keyrock_secrets, [
      { appId: 'app-1', secret: 'abc' },
      { appId: 'app-2', secret: 'd:e' },
    ]);
    assert.deepEqual(loadConfig({}).jwt, { issuers: [], keyrock_secrets: [] });
  });

  const base = { issuer: 'https://v', jwksUrl: 'https://v/jwks' };
  const invalid: [NodeJS.ProcessEnv, RegExp][] = [
    [
      { ACCOUNTING_PROXY_JWT_ISSUERS: '{"issuer"' },
      /^ACCOUNTING_PROXY_JWT_ISSUERS must be a JSON array/,
    ],
    [issuers({ ...base }), /must be a JSON array/],
    [issuers([{ issuer: 'https://v' }]), /^ACCOUNTING_PROXY_JWT_ISSUERS entry 1: "jwksUrl" /],
    [
      issuers([base, { ...base, jwksUrl: 'ftp://x' }]),
      /entry 2: "jwksUrl" must be an http\(s\) URL/,
    ],
    [
      issuers([{ ...base, algorithms: ['HS256'] }]),
      /entry 1: "algorithms.0" must be one of .*HS256 is for Keyrock/,
    ],
    [issuers([{ ...base, algorithms: ['none'] }]), /entry 1: "algorithms.0" must be one of/],
    [issuers([{ ...base, clockTolerance: -1 }]), /entry 1: "clockTolerance" /],
    [issuers([{ ...base, audience: 'x' }]), /entry 1: .*audience/],
    [
      issuers([{ ...base, identityClaims: ['a..b'] }]),
      /entry 1: "identityClaims.0" must be a dotted claim path/,
    ],
    [issuers([base, base]), /entry 2: issuer "https:\/\/v" is repeated/],
    [
      { ACCOUNTING_PROXY_KEYROCK_JWT_SECRETS: 'app-1:s3cr3t,app-2' },
      /^ACCOUNTING_PROXY_KEYROCK_JWT_SECRETS entry 2 must be <appId>:<secret>$/,
    ],
    [
      { ACCOUNTING_PROXY_KEYROCK_JWT_SECRETS: 'a:s3cr3t,a:s3cr3t' },
      /entry 2: application "a" is repeated/,
    ],
  ];
  for (const [env, message] of invalid) {
    test(`refuses ${JSON.stringify(env).slice(0, 120)} in one line naming the entry`, () => {
      assert.throws(
        () => loadConfig(env),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'CONFIG_INVALID');
          assert.match(error.message, message);
          assert.ok(!error.message.includes('\n'));
          assert.ok(!error.message.includes('s3cr3t'), 'a secret is never echoed');
          return true;
        },
      );
    });
  }
});
