import type { Agent } from '@/api/types';

/**
 * `none`: nothing was ever pushed to the agent; `in-sync`: it applied what it should run;
 * `drift`: it runs another version (or nothing) than the one last pushed to it.
 */
export type Drift = 'none' | 'in-sync' | 'drift';

export function driftOf(agent: Agent): Drift {
  if (agent.desiredVersion === null) return 'none';
  // The controller also compares content hashes; without its verdict, compare versions.
  const same = agent.drift !== undefined
    ? !agent.drift
    : agent.appliedVersion === agent.desiredVersion && agent.appliedRuleSetId === agent.desiredRuleSetId;
  return same ? 'in-sync' : 'drift';
}
