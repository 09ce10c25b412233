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
// As the proxy runs it: WAL checkpoints in a worker thread.
const open = (filename: string) =>
  openSqliteStore({
    filename,
    backgroundCheckpoints: {
      intervalMs: 10,
      onError: (message) => {
        throw new Error(message);
      },
    },
  });

storeContract('SQLite', {
  async create() {
    const filename = join(dir, `store-${++files}.sqlite`);
    return {
      store: open(filename),
      reopen: async () => open(filename),
      database: { ...defaultConfig().database, type: 'sqlite', name: filename },
    };
  },
});
