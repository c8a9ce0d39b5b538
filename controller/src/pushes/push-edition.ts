import { checkEdition, type Edition, type FieldError, type Rule } from '@portfleet/proto';
import type { Agent } from '../generated/prisma/client';

/**
 * Why `rules` cannot go to `agent` with the edition its seat grants: unlicensed, over the rule
 * limit, or a feature its edition lacks. Messages name the agent; fields and rule indexes name the rule.
 */
export function agentEditionErrors(agent: Pick<Agent, 'id' | 'name'>, edition: Edition | null, rules: readonly Rule[]): FieldError[] {
  const who = `agent "${agent.name}" (${agent.id})`;
  if (edition === null) {
    return [{ field: 'agentIds', code: 'AGENT_UNLICENSED', message: `${who} holds no license seat: all seats are taken by older agents; retire one or activate a key with more seats` }];
  }
  return checkEdition(edition, rules).map((e) => ({ ...e, message: `${who}: rule ${e.ruleIndex ?? ''}${e.ruleId ? ` (${e.ruleId})` : ''}: ${e.message}` }));
}
