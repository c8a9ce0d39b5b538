import { checkEdition, type Edition, type FieldError, type Rule } from '@portfleet/proto';
import type { Agent } from '../generated/prisma/client';

type Named = Pick<Agent, 'id' | 'name'>;

/**
 * Why `rules` cannot go to `agent` with the edition its seat grants: unlicensed, over the rule
 * limit, or a feature its edition lacks. Messages name the agent; fields and rule indexes name the rule.
 */
export function agentEditionErrors(agent: Named, edition: Edition | null, rules: readonly Rule[]): FieldError[] {
  return editionCheck(rules)(agent, edition);
}

/**
 * `agentEditionErrors` for many agents and one rule set: the rules are checked once per edition,
 * so a push to thousands of agents costs a handful of checks.
 */
export function editionCheck(rules: readonly Rule[]): (agent: Named, edition: Edition | null) => FieldError[] {
  const byEdition = new Map<Edition, FieldError[]>();
  const none = Object.freeze([]) as unknown as FieldError[]; // shared: frozen, so no caller can add to it
  return (agent, edition) => {
    const who = () => `agent "${agent.name}" (${agent.id})`;
    if (edition === null) {
      return [{ field: 'agentIds', code: 'AGENT_UNLICENSED', message: `${who()} holds no license seat: all seats are taken by older agents; retire one or activate a key with more seats` }];
    }
    let errors = byEdition.get(edition);
    if (!errors) byEdition.set(edition, (errors = checkEdition(edition, rules)));
    // Nothing per agent when the edition allows the rules (every target of a fleet-wide push).
    if (errors.length === 0) return none;
    return errors.map((e) => ({ ...e, message: `${who()}: rule ${e.ruleIndex ?? ''}${e.ruleId ? ` (${e.ruleId})` : ''}: ${e.message}` }));
  };
}
