import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { cli } from '../support/cli.ts';

describe('CLI argument fuzzing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ap-cli-fuzz-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ACCOUNTING_PROXY_DB_NAME: join(dir, 'fuzz.sqlite') };

  const word = fc.oneof(
    fc.constantFrom(
      'addService',
      'getService',
      'deleteService',
      'addAdmin',
      'deleteAdmin',
      'bindAdmin',
      'unbindAdmin',
      'getAdmins',
      'usage',
      'help',
      '-c',
      '--force',
      '-p',
      '--json',
      '-h',
      '--',
      '/svc',
      'http://localhost:5000',
      'GET',
      'post',
    ),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
  );

  test('500 generated command lines end with exit 0, or 1 and one line on stderr, never a throw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(word, { minLength: 1, maxLength: 7 }), async (argv) => {
        const result = await cli(env, ...argv);
        if (result.code === 0) return true;
        const helpShown = result.stderr.includes('Usage:');
        return result.code === 1 && (helpShown || result.stderr.trimEnd().split('\n').length === 1);
      }),
      { numRuns: 500, seed: 20261124 },
    );
  });
});
