-- Nothing reads agents by rule set. These indexes only made every push (desired_rule_set_id) and
-- every first ack of a rule set (applied_rule_set_id) a non-HOT update writing a new entry in each
-- agents index (10,000 agents: the push's desired-version UPDATE ~380 -> ~180 ms at load 5).
-- The foreign keys stay (rule sets are never deleted, ON DELETE SET NULL would scan agents).
DROP INDEX "agents_applied_rule_set_id_idx";

DROP INDEX "agents_desired_rule_set_id_idx";
