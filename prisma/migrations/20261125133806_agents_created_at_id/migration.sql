-- CreateIndex
CREATE INDEX "agents_created_at_id_idx" ON "agents"("created_at", "id");
