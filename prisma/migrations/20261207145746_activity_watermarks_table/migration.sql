-- The ingest watermark moves out of the agents row into a narrow table of its own: every stored
-- activity report moved it, which made a new agents row version per report (bloat, and a stale
-- agent-list entry, which is keyed by the row's xmin). Rows are created by the ingest on an agent's
-- first report. Free room on each page keeps the per-report UPDATEs HOT (not in schema.prisma:
-- Prisma does not model storage options).
CREATE TABLE "activity_watermarks" (
    "agent_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "activity_watermarks_pkey" PRIMARY KEY ("agent_id")
) WITH (fillfactor = 50);

ALTER TABLE "activity_watermarks" ADD CONSTRAINT "activity_watermarks_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

INSERT INTO "activity_watermarks" ("agent_id", "seq") SELECT "id", "last_activity_seq" FROM "agents" WHERE "last_activity_seq" <> 0;

ALTER TABLE "agents" DROP COLUMN "last_activity_seq";
