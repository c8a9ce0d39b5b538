import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AgentIdentity } from './sim-agent';

/**
 * Enrolled identities kept between runs (like each agent's state folder), so a restarted
 * simulator reconnects the same hosts instead of enrolling new ones. Holds credentials: 0600.
 */
export function readIdentities(file: string): AgentIdentity[] {
  if (!existsSync(file)) return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { agents?: AgentIdentity[] };
  if (!Array.isArray(parsed.agents)) throw new Error(`${file}: not a fleet-sim state file (no "agents" list)`);
  return parsed.agents;
}

export function writeIdentities(file: string, agents: readonly AgentIdentity[]): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ agents }, null, 1), { mode: 0o600 });
  renameSync(tmp, file);
}
