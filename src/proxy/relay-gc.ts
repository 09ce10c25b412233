import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's young-generation collection, as the `--expose-gc` extension offers it. */
export type CollectYoung = () => void;

export interface RelayGc {
  /** Bytes the proxy has just passed on (a socket read's buffer, garbage once written). */
  relayed(bytes: number): void;
}

/**
 * Collects the socket buffers a large body leaves behind at the pace the proxy relays them.
 * Every socket read is a buffer of up to 64 KiB outside V8's heap, dead once written on; V8 counts
 * such memory only towards full collections, at 64 MB past the last one (nodejs/node#1671), and
 * never schedules a young-generation collection for it. Relaying 10 streams at once, Node 22-26
 * held 40-60 MB of dead buffers at a time (bench/README item 20). A young collection every
 * `everyBytes` relayed frees those that died young. Small answers allocate enough on the heap
 * that V8's own collections come long before `everyBytes`; on 1 MiB answers the bench shows no
 * cost. (A full collection as well, once external memory grew past a margin, saved 10 MB more on
 * 1 GiB streams but cost a fifth of the 1 MiB requests: live buffers of 50 answers in flight
 * passed any margin.) Chunks the proxy frees itself once written (`chunk-release.ts`, Node 21 and
 * later) are not counted: only what is left to V8.
 */
export function createRelayGc(collectYoung: CollectYoung, everyBytes = 8 * 1048576): RelayGc {
  let sinceLast = 0;
  return {
    relayed(bytes) {
      sinceLast += bytes;
      if (sinceLast < everyBytes) return;
      sinceLast = 0;
      collectYoung();
    },
  };
}

/**
 * V8's young collection, from a `gc` taken in a context of its own so that no script of the
 * process (an accounting module included) finds a global `gc`: the flag is on only while that
 * context is made.
 */
export function v8CollectYoung(): CollectYoung {
  setFlagsFromString('--expose-gc');
  let gc: (options: { type: 'minor' }) => void;
  try {
    gc = runInNewContext('gc');
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return () => gc({ type: 'minor' });
}

/** The relay collector on this process's V8. */
export const processRelayGc = (): RelayGc => createRelayGc(v8CollectYoung());
