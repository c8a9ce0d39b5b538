-- With the indexes gone (…_agents_rule_set_refs_hot), the foreign keys go too (every foreign key
-- keeps an index, controller/test/migrations.test.ts). They cost a trigger call per row whenever a
-- push sets 10,000 agents' desired rule set or their acks the applied one. Every writer checks the
-- rule set exists (the push loads the version in its transaction, acks and Hellos join rule_sets),
-- and rule sets are never deleted.
ALTER TABLE "agents" DROP CONSTRAINT "agents_applied_rule_set_id_fkey";

ALTER TABLE "agents" DROP CONSTRAINT "agents_desired_rule_set_id_fkey";
