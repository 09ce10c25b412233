import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadAccountingModules } from '../../src/accounting/load-modules.ts';
import type { Exchange } from '../../src/accounting/module.ts';

// The exact compact JSON the original registers for each unit (reference §8.5).
const reference = JSON.parse(
  readFileSync(new URL('./reference-specifications.json', import.meta.url), 'utf8'),
) as Record<string, string>;

const exchange = (responseBytes: number, elapsedMs: number): Exchange => ({
  request: { method: 'GET', url: '/svc/x', headers: {}, bytes: 10 },
  response: { status: 200, headers: {}, bytes: responseBytes },
  elapsedMs,
});

describe('accounting modules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ap-modules-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the built-in units register exactly the specifications of the original', async () => {
    const modules = await loadAccountingModules(['call', 'megabyte', 'millisecond']);
    for (const unit of ['call', 'megabyte', 'millisecond']) {
      assert.equal(JSON.stringify(modules.get(unit)?.usageSpecification), reference[unit]);
    }
  });

  test('the built-in units count calls, megabytes and milliseconds', async () => {
    const modules = await loadAccountingModules(['call', 'megabyte', 'millisecond']);
    assert.equal(modules.get('call')?.count(exchange(5, 7)), 1);
    assert.equal(modules.get('megabyte')?.count(exchange(3_145_728, 7)), 3);
    assert.equal(modules.get('megabyte')?.count(exchange(175_350, 7)), 0.16722679138183594);
    assert.equal(modules.get('millisecond')?.count(exchange(5, 42.5)), 42.5);
  });

  test('a unit without a module file is refused naming the file', async () => {
    await assert.rejects(loadAccountingModules(['call', 'nope']), {
      code: 'MODULE_MISSING',
      message: 'No accounting module for unit "nope": missing file acc_modules/nope.ts',
    });
  });

  test('a module without the contract exports is refused naming what is missing', async () => {
    writeFileSync(
      join(dir, 'broken.ts'),
      "export const unit = 'broken';\nexport const count = 1;\n",
    );
    await assert.rejects(loadAccountingModules(['broken'], dir), {
      code: 'MODULE_INVALID',
      message:
        'Invalid accounting module acc_modules/broken.ts: it must export a count(exchange) function',
    });
    writeFileSync(join(dir, 'named.ts'), "export const unit = 'other';\n");
    await assert.rejects(loadAccountingModules(['named'], dir), {
      code: 'MODULE_INVALID',
      message: 'Invalid accounting module acc_modules/named.ts: it must export unit = "named"',
    });
  });

  test('a user module in the modules folder is loaded like a built-in', async () => {
    writeFileSync(
      join(dir, 'kilobyte-in.ts'),
      [
        "export const unit = 'kilobyte-in';",
        "export const usageSpecification = { name: 'kilobyte-in', description: 'x', usageSpecCharacteristic: [] };",
        'export const count = (exchange: { request: { bytes: number } }) => exchange.request.bytes / 1024;',
      ].join('\n'),
    );
    const modules = await loadAccountingModules(['kilobyte-in'], dir);
    assert.equal(modules.get('kilobyte-in')?.count(exchange(0, 0)), 10 / 1024);
  });

  test('the proxy refuses to start with a missing module, in one line', async () => {
    const main = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
    await assert.rejects(
      promisify(execFile)(process.execPath, [main], {
        env: {
          ...process.env,
          ACCOUNTING_PROXY_DB_NAME: ':memory:',
          ACCOUNTING_PROXY_MODULES: 'call,nope',
        },
      }),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.equal(
          error.stderr,
          'accounting-proxy: No accounting module for unit "nope": missing file acc_modules/nope.ts\n',
        );
        return true;
      },
    );
  });
});
