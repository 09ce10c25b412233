import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/*
 * Plain JavaScript, run by the test's own Node: it opens the file with the driver that Node runs
 * (node:sqlite where it has it, else better-sqlite3), as the proxy beside it does.
 */
const HOLDER = `
let db;
try {
  db = new (require('node:sqlite').DatabaseSync)(process.argv[1]);
} catch {
  db = new (require('better-sqlite3'))(process.argv[1]);
}
db.exec('PRAGMA busy_timeout = 5000');
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\\n');
process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`;

/** Another process holding an exclusive lock on the SQLite file until `release()`. */
export async function lockSqliteFile(file: string): Promise<{ release(): Promise<void> }> {
  const holder: ChildProcess = spawn(
    process.execPath,
    // Node 22 warns that node:sqlite is experimental; not this test's concern.
    ['--no-warnings', '-e', HOLDER, file],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  return {
    async release() {
      holder.stdin?.write('go\n');
      await exited;
    },
  };
}
