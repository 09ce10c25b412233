import type { UsageApiAnswer } from './usage-api.ts';

/** What the marketplace's answer to the record numbered N means for that record. */
export type RecordVerdict =
  /** 201, or `expected: N+1` to a resend: the marketplace has the record. */
  | { verdict: 'accepted'; earlier: boolean }
  /** `expected: K` with K > N+1 or K < N: the two sides disagree about what was accepted. */
  | { verdict: 'out-of-step'; expected: number; message: string }
  /** Refused as it stands: resending it unchanged is refused again. */
  | { verdict: 'rejected'; status: number; message: string }
  | { verdict: 'key-refused'; message: string }
  | { verdict: 'unknown'; message: string };

// The charging backend's message for a record whose number is not the one it expects.
const EXPECTED = /^Invalid correlation number, expected: (\d+)$/;

export function judgeRecordAnswer(
  correlationNumber: number,
  answer: UsageApiAnswer<unknown>,
): RecordVerdict {
  switch (answer.outcome) {
    case 'created':
      return { verdict: 'accepted', earlier: false };
    case 'key-refused':
      return { verdict: 'key-refused', message: answer.message };
    case 'unknown':
      return { verdict: 'unknown', message: answer.message };
    case 'refused': {
      const match = answer.status === 422 ? EXPECTED.exec(answer.message) : null;
      const expected = match ? Number(match[1]) : Number.NaN;
      if (expected === correlationNumber + 1) return { verdict: 'accepted', earlier: true };
      if (expected > correlationNumber + 1 || expected < correlationNumber) {
        return { verdict: 'out-of-step', expected, message: answer.message };
      }
      return { verdict: 'rejected', status: answer.status, message: answer.message };
    }
  }
}
