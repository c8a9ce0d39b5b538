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

/**
 * How a summed row joins a stored bucket that already holds some of its minute or hour: counters
 * add up, the last hit is the later one. The rollup (raw reports → minutes) and retention
 * (minutes → hours) both end their INSERT INTO activity_stored_buckets with it.
 */
export const ADD_TO_STORED_BUCKET = `ON CONFLICT (agent_id, rule_id, bucket_start) DO UPDATE SET
  packets_in = activity_stored_buckets.packets_in + EXCLUDED.packets_in,
  bytes_in = activity_stored_buckets.bytes_in + EXCLUDED.bytes_in,
  packets_out = activity_stored_buckets.packets_out + EXCLUDED.packets_out,
  bytes_out = activity_stored_buckets.bytes_out + EXCLUDED.bytes_out,
  conversations = activity_stored_buckets.conversations + EXCLUDED.conversations,
  last_hit_at = GREATEST(activity_stored_buckets.last_hit_at, EXCLUDED.last_hit_at)`;
