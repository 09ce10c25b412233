import { Worker } from 'node:worker_threads';
import { betterSqlite3Path } from './better-sqlite3.ts';
import type { SqliteDatabase } from './driver.ts';

export interface CheckpointerOptions {
  intervalMs: number;
  /** WAL size in frames (pages) past which a checkpoint makes commits wait to restart the WAL. */
  restartFrames?: number;
  /** A checkpoint failed, or the worker died and checkpoints went back into the commits. */
  onError(message: string): void;
  /** Each completed checkpoint, for tests and diagnostics. */
  onCheckpoint?(result: CheckpointResult): void;
}

/** What SQLite's `wal_checkpoint` pragma returns. */
export interface CheckpointResult {
  /** 1 when another connection held a lock the checkpoint needed. */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames of the WAL copied into the database file. */
  checkpointed: number;
}

export interface Checkpointer {
  /** Stops the worker; commits checkpoint inline again. */
  stop(): Promise<void>;
}

interface WorkerData {
  driver: string;
  filename: string;
  intervalMs: number;
  restartFrames: number;
}

/*
 * The worker's source, evaluated as CommonJS in its own thread. It is a string rather than a
 * module file because the tests run the sources through tsx, whose loader worker threads do not
 * get on Node 20. A PASSIVE checkpoint never waits for the writer, so under steady commits it
 * never catches up and the WAL would only grow: past `restartFrames`, RESTART takes the write
 * lock for the few frames left (commits wait that long) so that the next commit writes the WAL
 * from its start.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const db = openDatabase();
db.exec('PRAGMA busy_timeout = 1000');
const checkpoint = (mode) => db.prepare('PRAGMA wal_checkpoint(' + mode + ')').get();
function openDatabase() {
  if (workerData.driver !== 'node:sqlite') return new (require(workerData.driver))(workerData.filename);
  // As in node-sqlite.ts: Node 22's one ExperimentalWarning for the module is not the proxy's to print.
  const emitWarning = process.emitWarning;
  process.emitWarning = (warning, ...rest) =>
    String(warning).startsWith('SQLite is an experimental feature')
      ? undefined
      : emitWarning.call(process, warning, ...rest);
  try {
    return new (require('node:sqlite').DatabaseSync)(workerData.filename);
  } finally {
    process.emitWarning = emitWarning;
  }
}
function tick() {
  try {
    let result = checkpoint('PASSIVE');
    if (result.log >= workerData.restartFrames) result = checkpoint('RESTART');
    parentPort.postMessage({ result: { ...result } });
  } catch (error) {
    parentPort.postMessage({ error: error.message });
  }
}
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Moves WAL checkpoints off the event loop. SQLite otherwise checkpoints inside the commit that
 * crosses 1000 WAL pages, and that commit holds the event loop for the copy and its fsyncs
 * (5–10 ms measured): every response waiting for a usage commit in that turn pays it.
 */
export function startCheckpointer(db: SqliteDatabase, options: CheckpointerOptions): Checkpointer {
  const workerData: WorkerData = {
    // The module the worker requires: node:sqlite, or the file of the better-sqlite3 package.
    driver: db.driver === 'node:sqlite' ? db.driver : (betterSqlite3Path() ?? db.driver),
    filename: db.filename,
    intervalMs: options.intervalMs,
    restartFrames: options.restartFrames ?? 4096,
  };
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
  worker.unref();
  db.exec('PRAGMA wal_autocheckpoint = 0');
  let stopped = false;
  const checkpointInline = () => {
    if (db.open) db.exec('PRAGMA wal_autocheckpoint = 1000');
  };
  // A lock held by another process fails every tick until it is released: one line per outage.
  let failing = false;
  worker.on('message', (message: { result?: CheckpointResult; error?: string }) => {
    if (message.error !== undefined) {
      if (!failing) options.onError(`WAL checkpoint failed, retrying: ${message.error}`);
      failing = true;
    } else if (message.result) {
      failing = false;
      options.onCheckpoint?.(message.result);
    }
  });
  worker.on('error', (error) => {
    checkpointInline();
    options.onError(`WAL checkpoint worker stopped (${error.message}); checkpointing inline`);
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      // Unreferenced so that it never keeps the process up, but its exit is awaited here.
      worker.ref();
      worker.postMessage('stop');
      await exited;
      checkpointInline();
    },
  };
}
