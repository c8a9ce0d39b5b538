import { Prisma } from '../generated/prisma/client';

/** The counters summed over `activity_buckets` rows, as one select list (totals per agent, per rule). */
export const ACTIVITY_SUMS = Prisma.sql`SUM(packets_in)::bigint AS packets_in, SUM(bytes_in)::bigint AS bytes_in,
  SUM(packets_out)::bigint AS packets_out, SUM(bytes_out)::bigint AS bytes_out,
  SUM(conversations)::bigint AS conversations, MAX(last_hit_at) AS last_hit_at`;

export interface ActivitySumsRow {
  packets_in: bigint;
  bytes_in: bigint;
  packets_out: bigint;
  bytes_out: bigint;
  conversations: bigint;
  last_hit_at: Date | null;
}

export interface ActivitySums {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  conversations: number;
  lastHitAt: string | null;
}

export function activitySums(r: ActivitySumsRow): ActivitySums {
  return {
    packetsIn: Number(r.packets_in),
    bytesIn: Number(r.bytes_in),
    packetsOut: Number(r.packets_out),
    bytesOut: Number(r.bytes_out),
    conversations: Number(r.conversations),
    lastHitAt: r.last_hit_at ? new Date(r.last_hit_at).toISOString() : null,
  };
}
