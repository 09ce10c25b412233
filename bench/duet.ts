/**
 * Duet benchmarking: two configurations loaded at the same time, round after round, which load
 * starts first alternating. Whatever slows the machine in a round slows both, so the ratio of
 * their requests in each round measures what separates them rather than when each ran: on this
 * project's 2-core VM one configuration's rounds spread by up to 2×, a duet's ratios by ±10 %.
 */

/** The rounds of a duet: `a` and `b` each run one round's load and answer what they served. */
export async function duet<R extends { requests: number }>(
  a: () => Promise<R>,
  b: () => Promise<R>,
  rounds: number,
  onRound: (ofA: R, ofB: R, round: number) => void = () => {},
): Promise<{ ratio: number; ratios: number[]; ofA: R[]; ofB: R[] }> {
  const ratios: number[] = [];
  const ofA: R[] = [];
  const ofB: R[] = [];
  for (let round = 0; round < rounds; round++) {
    const [x, y] = await Promise.all(round % 2 ? [b(), a()] : [a(), b()]);
    const [resultA, resultB] = (round % 2 ? [y, x] : [x, y]) as [R, R];
    ofA.push(resultA);
    ofB.push(resultB);
    ratios.push(resultA.requests / (resultB.requests || 1));
    onRound(resultA, resultB, round);
  }
  return { ratio: median(ratios), ratios, ofA, ofB };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((p, q) => p - q);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
