import type { ActivityTotal, AgentActivityTotal } from '@/api/types';

export interface ActivitySum {
  packets: number;
  bytes: number;
  conversations: number;
  lastHitAt: string | null;
}

const later = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : a > b ? a : b);

/** Both directions of every rule added up per agent id. */
export function sumByAgent(totals: ActivityTotal[]): Map<string, ActivitySum> {
  const sums = new Map<string, ActivitySum>();
  for (const t of totals) {
    const sum = sums.get(t.agentId) ?? { packets: 0, bytes: 0, conversations: 0, lastHitAt: null };
    sum.packets += t.packetsIn + t.packetsOut;
    sum.bytes += t.bytesIn + t.bytesOut;
    sum.conversations += t.conversations;
    sum.lastHitAt = later(sum.lastHitAt, t.lastHitAt);
    sums.set(t.agentId, sum);
  }
  return sums;
}

/** `GET /api/activity/agents`' per-agent totals by agent id, both directions added up. */
export function sumsOfAgents(totals: readonly AgentActivityTotal[]): Map<string, ActivitySum> {
  return new Map(totals.map((t) => [t.agentId, {
    packets: t.packetsIn + t.packetsOut,
    bytes: t.bytesIn + t.bytesOut,
    conversations: t.conversations,
    lastHitAt: t.lastHitAt,
  }]));
}
