import type { Agent, AgentFilter } from '@/api/types';
import { driftOf } from './drift';

export interface FleetFilter extends AgentFilter {
  drift?: boolean;
}

/**
 * The fleet table's filter, applied to what the controller returned (it filters too when it
 * knows the parameter; applying it again here keeps the table right either way).
 */
export function filterAgents(agents: readonly Agent[], filter: FleetFilter): Agent[] {
  const needle = filter.search?.trim().toLowerCase() ?? '';
  return agents.filter((a) => {
    if (needle && ![a.name, a.hostname, a.platform, a.version, ...a.groups, ...a.labels].some((t) => t.toLowerCase().includes(needle))) return false;
    if (filter.online !== undefined && a.online !== filter.online) return false;
    if (filter.group && !a.groups.includes(filter.group)) return false;
    if (filter.label && !a.labels.includes(filter.label)) return false;
    if (filter.drift && driftOf(a) !== 'drift') return false;
    return true;
  });
}

/** Every group and label in use, sorted, for the filter menus and the push targets. */
export function tagsOf(agents: readonly Agent[]): { groups: string[]; labels: string[] } {
  const groups = new Set<string>();
  const labels = new Set<string>();
  for (const a of agents) {
    a.groups.forEach((g) => groups.add(g));
    a.labels.forEach((l) => labels.add(l));
  }
  return { groups: [...groups].sort(), labels: [...labels].sort() };
}

/** "web, db , ,web" → ["web", "db"]: a comma list as typed into a tag field. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))];
}
