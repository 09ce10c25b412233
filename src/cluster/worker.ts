/**
 * A worker of the cluster: a whole proxy (store, routing, reporting under the store lock) that
 * shares the primary's ports, hands its metrics to the primary and answers its readiness.
 */
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from '../log.ts';
import type { RunningProxy } from '../server.ts';
import {
  isMessage,
  type PrimaryMessage,
  READINESS_ANSWER,
  READINESS_REQUEST,
  SHUTDOWN,
  WORKER_LISTENING,
  type WorkerMessage,
} from './messages.ts';

const send = (message: WorkerMessage) => process.send?.(message);

/** Wires a started proxy to the primary; `stop` drains it and exits the process. */
export function serveAsWorker(
  proxy: RunningProxy,
  stop: (reason: string) => void,
  log: Logger,
): void {
  if (proxy.metrics) {
    AggregatorRegistry.setRegistries([proxy.metrics.registry]);
    // Its constructor is what makes prom-client answer the primary's metrics requests.
    new AggregatorRegistry();
  }
  process.on('message', (message: PrimaryMessage) => {
    if (isMessage<Extract<PrimaryMessage, { type: typeof SHUTDOWN }>>(message, SHUTDOWN)) {
      stop('asked by the primary');
    } else if (
      isMessage<Extract<PrimaryMessage, { type: typeof READINESS_REQUEST }>>(
        message,
        READINESS_REQUEST,
      )
    ) {
      proxy.readiness.check().then(
        (report) => send({ type: READINESS_ANSWER, id: message.id, ...report }),
        (error: unknown) =>
          send({ type: READINESS_ANSWER, id: message.id, ready: false, reasons: [String(error)] }),
      );
    }
  });
  // The primary is gone (killed): nobody restarts or drains this worker, it stops by itself.
  process.on('disconnect', () => {
    log.warn('the cluster primary is gone');
    stop('primary gone');
  });
  send({ type: WORKER_LISTENING, port: proxy.port });
}
