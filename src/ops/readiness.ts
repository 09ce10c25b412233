import type { StoreProbe } from './store-probe.ts';

export interface ReadinessReport {
  ready: boolean;
  /** Each cause of not being ready, in words an operator acts on. */
  reasons: string[];
}

export interface Readiness {
  /** The proxy listens with its routing loaded. */
  listening(): void;
  /** SIGTERM: a load balancer must stop sending while in-flight exchanges finish. */
  shuttingDown(): void;
  check(): Promise<ReadinessReport>;
}

export function createReadiness(sources: {
  probe: StoreProbe;
  recorder: { readonly healthy: boolean };
}): Readiness {
  let listening = false;
  let stopping = false;
  return {
    listening: () => {
      listening = true;
    },
    shuttingDown: () => {
      stopping = true;
    },
    async check() {
      const reasons: string[] = [];
      if (stopping) reasons.push('shutting down');
      else if (!listening) reasons.push('starting: not listening yet');
      if (!(await sources.probe.check())) reasons.push('store unreachable or not writable');
      if (!sources.recorder.healthy) {
        reasons.push('usage recorder unhealthy: commits to the store are failing');
      }
      return { ready: reasons.length === 0, reasons };
    },
  };
}
