-- CreateEnum
CREATE TYPE "PushStatus" AS ENUM ('running', 'completed', 'halted', 'aborted');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "PushTargetState" ADD VALUE 'waiting';
ALTER TYPE "PushTargetState" ADD VALUE 'superseded';
ALTER TYPE "PushTargetState" ADD VALUE 'cancelled';

-- DropIndex
DROP INDEX "push_targets_agent_id_idx";

-- AlterTable
ALTER TABLE "agents" ADD COLUMN     "edition" TEXT;

-- AlterTable
ALTER TABLE "push_targets" ADD COLUMN     "wave" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "pushes" ADD COLUMN     "current_wave" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "max_failure_percent" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "rollback_of" UUID,
ADD COLUMN     "status" "PushStatus" NOT NULL DEFAULT 'running',
ADD COLUMN     "waves" INTEGER[] DEFAULT ARRAY[]::INTEGER[];

-- CreateTable
CREATE TABLE "licenses" (
    "id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "serial" TEXT NOT NULL,
    "edition" TEXT NOT NULL,
    "seats" INTEGER NOT NULL,
    "issued_to" TEXT NOT NULL,
    "issued_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "activated_by" TEXT NOT NULL,
    "activated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "licenses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "controller_state" (
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "controller_state_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "licenses_activated_at_idx" ON "licenses"("activated_at");

-- CreateIndex
CREATE INDEX "push_targets_agent_id_state_idx" ON "push_targets"("agent_id", "state");
