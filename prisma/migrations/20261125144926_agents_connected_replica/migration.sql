-- AlterTable
ALTER TABLE "agents" ADD COLUMN     "connected_replica" UUID;

-- CreateTable
CREATE TABLE "controller_replicas" (
    "id" UUID NOT NULL,
    "seen_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "controller_replicas_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "agents_connected_replica_idx" ON "agents"("connected_replica");
