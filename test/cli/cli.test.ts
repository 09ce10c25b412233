import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../../config.ts';
import { openStore } from '../../src/store/open.ts';
import { cli } from '../support/cli.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';

const cliBinary = fileURLToPath(new URL('../../cli/cli', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ap-cli-'));
let redis: RedisServer;
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Everything the store holds that the CLI can change. */
async function snapshot(env: NodeJS.ProcessEnv) {
  const store = await openStore(loadConfig(env).database);
  try {
    return { ...(await store.loadRoutingState()), admins: await store.listAdmins() };
  } finally {
    await store.close();
  }
}

const backends: { name: string; env: () => NodeJS.ProcessEnv }[] = [
  { name: 'SQLite', env: () => ({ ACCOUNTING_PROXY_DB_NAME: join(dir, 'cli.sqlite') }) },
  {
    name: 'Redis',
    env: () => ({
      ACCOUNTING_PROXY_DB: 'redis',
      ACCOUNTING_PROXY_REDIS_HOST: '127.0.0.1',
      ACCOUNTING_PROXY_REDIS_PORT: String(redis.port),
      ACCOUNTING_PROXY_REDIS_PREFIX: 'cli-test:',
    }),
  },
];

for (const backend of backends) {
  describe(`CLI on ${backend.name}`, () => {
    const ok = async (...argv: string[]) => {
      const result = await cli(backend.env(), ...argv);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      return result.stdout;
    };

    test('adds a service and shows it in an aligned table and as JSON', async () => {
      assert.equal(
        await ok('addService', '/weather', 'http://localhost:5000/', '1111', 'get', 'POST'),
        'Service successfully added.\n',
      );
      const table = (await ok('getService')).split('\n');
      assert.match(table[0] ?? '', /^PUBLIC PATH\s+URL\s+APP-ID\s+CONTEXT-BROKER\s+METHODS$/);
      assert.match(table[1] ?? '', /^\/weather\s+http:\/\/localhost:5000\s+1111\s+no\s+GET,POST$/);
      assert.equal(table[0]?.indexOf('URL'), table[1]?.indexOf('http'));
      assert.deepEqual(JSON.parse(await ok('getService', '-p', '/weather', '--json')), {
        publicPath: '/weather',
        url: 'http://localhost:5000',
        appId: '1111',
        methods: ['GET', 'POST'],
        isContextBroker: false,
      });
    });

    test('keeps the TMF offerings and specs of a service: --offering, --product-spec, setOfferings', async () => {
      const fail = async (...argv: string[]) => {
        const result = await cli(backend.env(), ...argv);
        assert.equal(result.code, 1);
        assert.equal(result.stderr.split('\n').length, 2, result.stderr);
        return result.stderr;
      };
      const offering = 'urn:ngsi-ld:product-offering:o-1';
      await ok('addService', '/tmf', 'http://api:80', 'app', 'GET', '--offering', offering);
      await ok('addService', '/tmf2', 'http://api:80', 'app', 'GET');
      assert.deepEqual(JSON.parse(await ok('getService', '-p', '/tmf', '--json')).catalog, {
        offerings: [offering],
        productSpecs: [],
      });
      const table = (await ok('getService')).split('\n');
      assert.match(table[0] ?? '', /METHODS\s+CATALOG$/);
      assert.ok(
        table.some((line) => line.startsWith('/tmf ') && line.endsWith(`offering ${offering}`)),
      );
      assert.match(
        await fail('setOfferings', '/tmf2', '--offering', offering),
        /^error: The offering urn:ngsi-ld:product-offering:o-1 already belongs to service \/tmf\n$/,
      );
      assert.match(
        await fail('addService', '/tmf3', 'http://api:80', 'app', 'GET', '--product-spec', 'a b'),
        /Invalid offering or product specification id "a b"/,
      );
      assert.match(
        await ok(
          'setOfferings',
          '/tmf2',
          '--offering',
          'o-2',
          '--product-spec',
          's-1',
          '--offering',
          'o-3',
        ),
        /Service \/tmf2: 2 offering\(s\), 1 product specification\(s\)\./,
      );
      assert.deepEqual(JSON.parse(await ok('getService', '-p', '/tmf2', '--json')).catalog, {
        offerings: ['o-2', 'o-3'],
        productSpecs: ['s-1'],
      });
      assert.match(
        await ok('setOfferings', '/tmf'),
        /has no offerings or product specifications now/,
      );
      assert.equal(JSON.parse(await ok('getService', '-p', '/tmf', '--json')).catalog, undefined);
      await ok('deleteService', '/tmf');
      await ok('deleteService', '/tmf2');
    });

    test('accepts -c in any position when the context broker is enabled', async () => {
      const env = { ...backend.env(), ACCOUNTING_PROXY_CONTEXT_BROKER: 'true' };
      for (const [path, argv] of [
        ['/orion1', ['addService', '-c', '/orion1', 'http://orion:1026', 'app', 'GET']],
        [
          '/orion2',
          ['addService', '/orion2', 'http://orion:1026', '--context-broker', 'app', 'GET'],
        ],
        ['/orion3', ['addService', '/orion3', 'http://orion:1026', 'app', 'GET', 'POST', '-c']],
      ] as const) {
        const result = await cli(env, ...argv);
        assert.equal(result.code, 0, result.stderr);
        const shown = JSON.parse((await cli(env, 'getService', '-p', path, '--json')).stdout);
        assert.equal(shown.isContextBroker, true);
        assert.equal(shown.url, 'http://orion:1026');
      }
    });

    test('updates an existing service only with --force, keeping its admins', async () => {
      await ok('addService', '/upd', 'http://a:1', 'app', 'GET');
      await ok('addAdmin', 'upd-admin');
      await ok('bindAdmin', 'upd-admin', '/upd');
      const refused = await cli(backend.env(), 'addService', '/upd', 'http://b:2', 'app', 'GET');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^error: Service "\/upd" already exists\. .*--force.*\n$/);
      assert.equal(
        await ok('addService', '--force', '/upd', 'http://b:2', 'app', 'PUT'),
        'Service successfully updated.\n',
      );
      assert.equal(JSON.parse(await ok('getService', '-p', '/upd', '--json')).url, 'http://b:2');
      assert.deepEqual(JSON.parse(await ok('getAdmins', '/upd', '--json')), ['upd-admin']);
    });

    test('manages administrators and their bindings', async () => {
      await ok('addService', '/adm', 'http://a:1', 'app', 'GET');
      assert.equal(await ok('addAdmin', 'zed'), 'Added admin: zed\n');
      assert.equal(await ok('addAdmin', 'amy'), 'Added admin: amy\n');
      assert.equal(await ok('bindAdmin', 'zed', '/adm'), 'Admin zed added to service /adm\n');
      await ok('bindAdmin', 'amy', '/adm');
      const table = (await ok('getAdmins', '/adm')).trimEnd().split('\n');
      assert.deepEqual(
        table.map((line) => line.split(/\s+/)),
        [
          ['SERVICE', 'ADMINISTRATOR'],
          ['/adm', 'amy'],
          ['/adm', 'zed'],
        ],
      );
      assert.equal(
        await ok('unbindAdmin', 'amy', '/adm'),
        'Administrator amy removed from service /adm\n',
      );
      assert.equal(await ok('deleteAdmin', 'zed'), 'Deleted admin: zed\n');
      assert.equal(
        await ok('getAdmins', '/adm'),
        'No administrators available for the service /adm\n',
      );
      assert.equal(await ok('deleteService', '/adm'), 'Service /adm deleted.\n');
    });

    const refusals: { why: string; argv: string[]; env?: NodeJS.ProcessEnv; message: RegExp }[] = [
      {
        why: 'a missing argument',
        argv: ['addService', '/x', 'http://a:1', 'app'],
        message: /missing required argument 'method'/,
      },
      { why: 'an unknown command', argv: ['addservice'], message: /unknown command 'addservice'/ },
      {
        why: 'a path without leading slash',
        argv: ['addService', 'x', 'http://a', 'app', 'GET'],
        message: /Invalid path format/,
      },
      {
        why: 'a reserved path',
        argv: ['addService', '/accounting_proxy/newBuy', 'http://a', 'app', 'GET'],
        message: /is a reserved path/,
      },
      {
        why: 'a non-http URL',
        argv: ['addService', '/x', 'ftp://a:21', 'app', 'GET'],
        message: /Invalid url format/,
      },
      {
        why: 'an unknown method',
        argv: ['addService', '/x', 'http://a', 'app', 'GET', 'FETCH'],
        message: /Http method not valid: "FETCH"/,
      },
      {
        why: 'an empty appId',
        argv: ['addService', '/x', 'http://a', ' ', 'GET'],
        message: /Undefined appId/,
      },
      {
        why: '-c while the context broker is disabled',
        argv: ['addService', '-c', '/x', 'http://a', 'app', 'GET'],
        message: /Context Broker is not enabled/,
      },
      {
        why: 'binding an unknown admin',
        argv: ['bindAdmin', 'ghost', '/weather'],
        message: /Admin "ghost" does not exist/,
      },
      {
        why: 'binding to an unknown service',
        argv: ['bindAdmin', 'bob', '/nowhere'],
        message: /No service registered for public path "\/nowhere"/,
      },
      {
        why: 're-adding an admin',
        argv: ['addAdmin', 'bob'],
        message: /Admin "bob" already exists/,
      },
      {
        why: 'deleting an unknown service',
        argv: ['deleteService', '/nowhere'],
        message: /No service registered/,
      },
      {
        why: 'unbinding an admin that is not bound',
        argv: ['unbindAdmin', 'bob', '/weather'],
        message: /is not an administrator of "\/weather"/,
      },
      {
        why: 'getService of an unknown path',
        argv: ['getService', '-p', '/nowhere'],
        message: /No service registered/,
      },
      {
        why: 'a user id with spaces',
        argv: ['addAdmin', 'two words'],
        message: /a user id is a non-empty word/,
      },
      {
        why: 'a bad configuration value',
        argv: ['addAdmin', 'newcomer'],
        env: { ACCOUNTING_PROXY_PORT: 'abc' },
        message: /^error: ACCOUNTING_PROXY_PORT must be an integer 1-65535, got "abc"\n$/,
      },
      {
        why: 'a bad usage schedule',
        argv: ['addAdmin', 'newcomer'],
        env: { ACCOUNTING_PROXY_USAGE_SCHEDULE: '61 * * * *' },
        message: /ACCOUNTING_PROXY_USAGE_SCHEDULE must be a cron expression with 5 or 6 fields/,
      },
    ];

    test('refuses bad input with one line on stderr, a non-zero exit and an unchanged store', async () => {
      await ok('addAdmin', 'bob');
      const before = await snapshot(backend.env());
      for (const refusal of refusals) {
        const result = await cli({ ...backend.env(), ...refusal.env }, ...refusal.argv);
        assert.notEqual(result.code, 0, refusal.why);
        assert.equal(result.stdout, '', refusal.why);
        assert.match(result.stderr, refusal.message, refusal.why);
        assert.equal(result.stderr.trimEnd().split('\n').length, 1, `${refusal.why}: one line`);
      }
      assert.deepEqual(await snapshot(backend.env()), before);
    });

    test('the cli/cli executable adds and shows a service and ends by itself', async () => {
      const run = (...argv: string[]) =>
        promisify(execFile)(cliBinary, argv, {
          cwd: dir,
          env: { ...process.env, ...backend.env(), ACCOUNTING_PROXY_DB_NAME: undefined },
          timeout: 30_000,
        });
      if (backend.name === 'SQLite') {
        // With ACCOUNTING_PROXY_DB unset the store is accountingDB.sqlite in the working directory.
        const added = await run(
          'addService',
          '/exe',
          'http://localhost:5000',
          '1111',
          'GET',
          'POST',
        );
        assert.equal(added.stdout, 'Service successfully added.\n');
        assert.match((await run('getService')).stdout, /\/exe\s+http:\/\/localhost:5000\s+1111/);
        const store = await openStore({
          ...loadConfig({}).database,
          name: join(dir, 'accountingDB.sqlite'),
        });
        assert.ok(await store.getService('/exe'));
        await store.close();
      } else {
        const added = await run(
          'addService',
          '/exe',
          'http://localhost:5000',
          '1111',
          'GET',
          'POST',
        );
        assert.equal(added.stdout, 'Service successfully added.\n');
        assert.match((await run('getService')).stdout, /\/exe\s+http:\/\/localhost:5000\s+1111/);
      }
      await assert.rejects(
        run('deleteAdmin', 'ghost'),
        (error: { code: number; stderr: string }) => {
          assert.equal(error.code, 1);
          assert.equal(
            error.stderr,
            'error: Admin "ghost" does not exist. Admin must be added before binding it.\n',
          );
          return true;
        },
      );
    });
  });
}

describe('CLI help', () => {
  test('--version prints the version of package.json, also from the built CLI', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    );
    const shown = await cli({}, '--version');
    assert.equal(shown.code, 0);
    assert.equal(shown.stdout, `${version}\n`);
    const built = spawnSync(cliBinary, ['-V'], { encoding: 'utf8' });
    assert.equal(built.stdout, `${version}\n`);
  });

  test('-h and help <command> print usage and exit 0', async () => {
    const top = await cli({}, '-h');
    assert.equal(top.code, 0);
    for (const command of [
      'addService',
      'getService',
      'deleteService',
      'addAdmin',
      'deleteAdmin',
      'bindAdmin',
      'unbindAdmin',
      'getAdmins',
    ]) {
      assert.match(top.stdout, new RegExp(`\\b${command}\\b`));
    }
    const help = await cli({}, 'help', 'addService');
    assert.equal(help.code, 0);
    assert.match(
      help.stdout,
      /Usage: cli\/cli addService \[options\] <publicPath> <url> <appId> <method>/,
    );
  });

  test('no command prints the usage on stderr and exits non-zero', async () => {
    const result = await cli({});
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Usage: cli\/cli/);
  });

  test('an unreachable Redis is one clear line and a non-zero exit', async () => {
    const result = await cli(
      {
        ACCOUNTING_PROXY_DB: 'redis',
        ACCOUNTING_PROXY_REDIS_HOST: '127.0.0.1',
        ACCOUNTING_PROXY_REDIS_PORT: '1',
      },
      'getService',
    );
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'error: cannot open the store (Redis at 127.0.0.1:1): connect ECONNREFUSED 127.0.0.1:1\n',
    );
  });
});
