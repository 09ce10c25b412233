import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { defaultConfig } from '../../config.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { storeContract } from './contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'ap-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

storeContract('SQLite', {
  async create() {
    const filename = join(dir, `store-${++files}.sqlite`);
    return {
      store: openSqliteStore({ filename }),
      reopen: async () => openSqliteStore({ filename }),
      database: { ...defaultConfig().database, type: 'sqlite', name: filename },
    };
  },
});
