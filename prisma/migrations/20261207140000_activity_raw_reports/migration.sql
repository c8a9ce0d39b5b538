-- Activity ingest appends one row per report (activity_raw_reports, its samples as arrays) instead
-- of upserting a bucket row per sample. The rollup (controller/src/activity/activity-rollup.ts)
-- sums raw rows into the bucket table once their minute is over. The bucket table is renamed and
-- "activity_buckets" becomes a view of both, so every reader sees everything stored, at any time.
ALTER TABLE "activity_buckets" RENAME TO "activity_stored_buckets";
ALTER TABLE "activity_stored_buckets" RENAME CONSTRAINT "activity_buckets_pkey" TO "activity_stored_buckets_pkey";
ALTER TABLE "activity_stored_buckets" RENAME CONSTRAINT "activity_buckets_agent_id_fkey" TO "activity_stored_buckets_agent_id_fkey";
ALTER INDEX "activity_buckets_rule_id_idx" RENAME TO "activity_stored_buckets_rule_id_idx";
ALTER INDEX "activity_buckets_bucket_start_idx" RENAME TO "activity_stored_buckets_bucket_start_idx";

-- CreateTable
CREATE TABLE "activity_raw_reports" (
    "agent_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "period_end" TIMESTAMPTZ(3) NOT NULL,
    "rule_ids" TEXT[],
    "counters" BIGINT[],

    CONSTRAINT "activity_raw_reports_pkey" PRIMARY KEY ("agent_id","seq")
);

-- AddForeignKey
ALTER TABLE "activity_raw_reports" ADD CONSTRAINT "activity_raw_reports_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A report of 50 rules is ~4.5 kB: kept in its row as is. With the default target (~2 kB) every
-- insert would compress it, for a row that is deleted within the minute.
ALTER TABLE "activity_raw_reports" SET (toast_tuple_target = 8160);

-- What every activity read uses: stored buckets, plus each raw report's samples at its minute.
-- counters rows: packets in, bytes in, packets out, bytes out, new conversations, last hit (Unix ms).
CREATE VIEW "activity_buckets" AS
  SELECT agent_id, rule_id, bucket_start, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_at
    FROM "activity_stored_buckets"
  UNION ALL
  SELECT r.agent_id, s.rule_id, to_timestamp(floor(extract(epoch FROM r.period_end) / 60) * 60)::timestamptz(3),
         s.packets_in, s.bytes_in, s.packets_out, s.bytes_out, s.conversations,
         CASE WHEN s.last_hit_ms > 0 THEN to_timestamp(s.last_hit_ms::float8 / 1000)::timestamptz(3) END
    FROM "activity_raw_reports" r
   CROSS JOIN LATERAL unnest(r.rule_ids, r.counters[1:1], r.counters[2:2], r.counters[3:3], r.counters[4:4], r.counters[5:5], r.counters[6:6])
        AS s(rule_id, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_ms);
