import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS_DOC, renderErrorsDoc } from '../scripts/errors-doc.ts';
import { errorTable } from '../src/errors.ts';

test('docs/errors.md is the error table (regenerate with npm run docs:errors)', () => {
  assert.equal(readFileSync(ERRORS_DOC, 'utf8'), renderErrorsDoc());
});

test('every message of the table renders with its placeholders', () => {
  for (const { code, message } of errorTable()) {
    assert.ok(!message.includes('undefined'), `${code}: ${message}`);
  }
});
