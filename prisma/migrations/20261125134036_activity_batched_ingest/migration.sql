-- DropForeignKey
ALTER TABLE "activity_reports" DROP CONSTRAINT "activity_reports_agent_id_fkey";

-- DropIndex
DROP INDEX "activity_buckets_bucket_start_idx";

-- DropTable
DROP TABLE "activity_reports";

-- CreateIndex
CREATE INDEX "activity_buckets_bucket_start_idx" ON "activity_buckets" USING BRIN ("bucket_start");

-- Bucket rows are updated in place many times a minute: room on each page keeps those updates HOT
-- (no index entries, pruned in place). Not in schema.prisma: Prisma does not model storage options.
ALTER TABLE "activity_buckets" SET (fillfactor = 70);
