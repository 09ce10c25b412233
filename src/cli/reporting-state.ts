import { createHash } from 'node:crypto';
import type { MarketplaceKey, ReportableBuy } from '../store/store.ts';

/** How a buy's reporting stands, as `cli usage --json` prints it. */
export type ReportingState =
  | { state: 'ok' }
  | { state: 'waiting'; message: string; since: string }
  | { state: 'rejected'; message: string; since: string }
  | { state: 'out-of-step'; expected: number; message: string; since: string };

export function reportingStateOf(buy: ReportableBuy): ReportingState {
  const status = buy.reportStatus;
  if (!status) return { state: 'ok' };
  const { message, since } = status;
  if (status.state === 'unknown') return { state: 'waiting', message, since };
  if (status.state === 'rejected') return { state: 'rejected', message, since };
  return { state: 'out-of-step', expected: status.expected ?? -1, message, since };
}

export { needsAttention } from '../usage/needs-attention.ts';

/** One line for the table and for `cli report`'s error. */
export function describeReporting(state: ReportingState): string {
  switch (state.state) {
    case 'ok':
      return 'ok';
    case 'waiting':
      return `waiting for an unknown outcome since ${state.since}: ${state.message}`;
    case 'rejected':
      return `rejected by the marketplace since ${state.since}: ${state.message}`;
    case 'out-of-step':
      return `out of step with the marketplace since ${state.since}: it expects #${state.expected}`;
  }
}

/** Keys are secrets: a short digest tells them apart without revealing them. */
export const fingerprint = (key: string) =>
  createHash('sha256').update(key).digest('hex').slice(0, 8);

export const describeKey = ({ key, ...rest }: MarketplaceKey) => ({
  fingerprint: fingerprint(key),
  ...rest,
});
