import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's collector as the `--expose-gc` extension offers it. */
export type Collect = (options: { type: 'minor' | 'major'; execution: 'sync' | 'async' }) => void;

export interface RelayGcOptions {
  collect: Collect;
  /** Bytes of ArrayBuffers V8 accounts for (`external_memory`). */
  externalBytes(): number;
  /** Bytes relayed between two young-generation collections. */
  everyBytes?: number;
  /** Growth of external memory over its low point that starts a full collection. */
  externalSlack?: number;
}

export interface RelayGc {
  /** Bytes the proxy has just passed on (a socket read's buffer, garbage once written). */
  relayed(bytes: number): void;
}

/**
 * Collects the socket buffers a large body leaves behind at the pace the proxy relays them.
 * Every socket read is a 64 KiB buffer outside V8's heap, dead once written on; V8 counts such
 * memory only towards full collections, at 64 MB past the last one (nodejs/node#1671), and never
 * schedules a young-generation collection for it. Relaying 10 streams at once, Node 22-26 reached
 * 40-60 MB of dead buffers and kept most of it from the system (bench/README item 20). A young
 * collection every `everyBytes` relayed frees the buffers that died young; the few that waited in
 * a slow client's queue long enough to be promoted are freed by an incremental full collection once
 * external memory has grown `externalSlack` past its low point. Small answers allocate enough on
 * the heap that V8's own collections come long before `everyBytes`.
 */
export function createRelayGc(options: RelayGcOptions): RelayGc {
  const { collect, externalBytes } = options;
  const everyBytes = options.everyBytes ?? 8 * 1048576;
  const externalSlack = options.externalSlack ?? 16 * 1048576;
  let sinceLast = 0;
  let externalFloor = externalBytes();
  return {
    relayed(bytes) {
      sinceLast += bytes;
      if (sinceLast < everyBytes) return;
      sinceLast = 0;
      collect({ type: 'minor', execution: 'sync' });
      const external = externalBytes();
      if (external > externalFloor + externalSlack) {
        collect({ type: 'major', execution: 'async' });
        externalFloor = externalBytes();
      } else if (external < externalFloor) externalFloor = external;
    },
  };
}

/**
 * V8's `gc` function, taken from a context of its own so that no script of the process (an
 * accounting module included) finds a global `gc`: the flag is on only while that context is made.
 */
export function v8Collect(): Collect {
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as Collect;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** The relay collector on this process's V8. */
export const processRelayGc = (): RelayGc =>
  createRelayGc({ collect: v8Collect(), externalBytes: () => getHeapStatistics().external_memory });
