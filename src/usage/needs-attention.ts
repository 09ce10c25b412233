import type { ReportableBuy } from '../store/store.ts';

/** Rejected by the marketplace or out of step with it: an operator has to look (`cli resume`). */
export const needsAttention = (buy: ReportableBuy) =>
  buy.reportStatus?.state === 'rejected' || buy.reportStatus?.state === 'out-of-step';
