import type { Agent } from '@/api/types';

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
