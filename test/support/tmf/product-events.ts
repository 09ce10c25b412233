/**
 * Event delivery as tmforum-api does it (NotificationSender): `POST <callback>` with the event as
 * JSON, no signature; a failed POST is retried with exponential back-off (×1.5) and dropped after
 * the last attempt; nobody waits for it. `deliver = false` drops every event, as after the retries.
 */
import { request } from 'undici';

export interface EventDelivery {
  deliver: boolean;
  send(callback: string, event: unknown): void;
  /** Resolves once every event sent so far was delivered or dropped. */
  settled(): Promise<void>;
  stop(): void;
}

export function productEventDelivery(options: {
  attempts: number;
  backoffMs: number;
}): EventDelivery {
  const inFlight = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  const post = async (callback: string, event: unknown): Promise<boolean> => {
    try {
      const answer = await request(callback, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
      });
      await answer.body.dump();
      return answer.statusCode < 300;
    } catch {
      return false;
    }
  };
  const delivery: EventDelivery = {
    deliver: true,
    send(callback, event) {
      if (!delivery.deliver || stopped) return;
      const sending = (async () => {
        let backoff = options.backoffMs;
        for (let attempt = 1; attempt <= options.attempts && !stopped; attempt++) {
          if (await post(callback, event)) return;
          await wait(backoff);
          backoff *= 1.5;
        }
      })();
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
  return delivery;
}
