export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/**
 * Where minute buckets end and hour buckets begin (an hour boundary): buckets before it are
 * rolled up into their hour's first minute (activity-retention.ts).
 */
export function minuteCutoffMs(nowMs: number, minuteRetentionMs: number): number {
  return Math.floor((nowMs - minuteRetentionMs) / HOUR_MS) * HOUR_MS;
}

/** The bucket a period ending at `periodEndMs` counts in: its minute, or its hour when that is past the cutoff. */
export function bucketStartMs(periodEndMs: number, minuteCutoff: number): number {
  const width = periodEndMs < minuteCutoff ? HOUR_MS : MINUTE_MS;
  return Math.floor(periodEndMs / width) * width;
}
