/**
 * How a request target picks its service, for the proxy path and for the marketplace's asset URLs
 * alike: a complete-path service (path and query exactly) first, else the service of the first
 * path segment.
 */

/** Index just past the first path segment of a request target (`/a/b?c` → 2). */
export function firstSegmentEnd(target: string): number {
  for (let i = 1; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */) return i;
  }
  return target.length;
}

/** The public paths a target may be served by, in the order they are tried. */
export const candidatePaths = (target: string): [complete: string, segment: string] => [
  target,
  target.slice(0, firstSegmentEnd(target)),
];
