-- push_targets names its push and agent without foreign keys. A push inserts one target per agent
-- in one statement, and the two per-row checks (a trigger call and a row lock each) were ~90 of
-- its ~135 ms at 10,000 agents. The transaction that inserts targets has just made the push and
-- read the agents, and nothing deletes agents or pushes. The cascade a hand-made DELETE had is
-- kept by one statement-level trigger per table.
ALTER TABLE "push_targets" DROP CONSTRAINT "push_targets_push_id_fkey";

ALTER TABLE "push_targets" DROP CONSTRAINT "push_targets_agent_id_fkey";

CREATE FUNCTION "push_targets_of_deleted_agents"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "push_targets" t USING deleted d WHERE t."agent_id" = d."id";
  RETURN NULL;
END
$$;

CREATE TRIGGER "agents_delete_push_targets" AFTER DELETE ON "agents"
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION "push_targets_of_deleted_agents"();

CREATE FUNCTION "push_targets_of_deleted_pushes"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "push_targets" t USING deleted d WHERE t."push_id" = d."id";
  RETURN NULL;
END
$$;

CREATE TRIGGER "pushes_delete_push_targets" AFTER DELETE ON "pushes"
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION "push_targets_of_deleted_pushes"();
