/** What the cluster primary and its workers tell each other over the IPC channel. */
import type { ReadinessReport } from '../ops/readiness.ts';

export const WORKER_LISTENING = 'accounting-proxy:listening';
export const READINESS_REQUEST = 'accounting-proxy:readiness?';
export const READINESS_ANSWER = 'accounting-proxy:readiness';
export const SHUTDOWN = 'accounting-proxy:shutdown';

export type WorkerMessage =
  | { type: typeof WORKER_LISTENING; port: number }
  | ({ type: typeof READINESS_ANSWER; id: number } & ReadinessReport);

export type PrimaryMessage =
  | { type: typeof READINESS_REQUEST; id: number }
  | { type: typeof SHUTDOWN };

export const isMessage = <T extends { type: string }>(
  message: unknown,
  type: T['type'],
): message is T =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
