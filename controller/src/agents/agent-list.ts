import { Prisma } from '../generated/prisma/client';
import type { Db } from '../db/prisma.service';
import type { PageRequest, TimeIdKey } from '../paging/page';
import type { AgentViewRow } from './agent-view';

export interface AgentFilter {
  search?: string;
  online?: boolean;
  group?: string;
  label?: string;
  /** An edition, or 'unlicensed'. */
  edition?: string;
}

interface Row {
  id: string;
  name: string;
  hostname: string;
  platform: string;
  version: string;
  last_seen_at: Date | null;
  adapters: Prisma.JsonValue;
  applied_rule_set_id: string | null;
  applied_version: number | null;
  applied_content_hash: string | null;
  desired_rule_set_id: string | null;
  desired_version: number | null;
  edition: string | null;
  groups: string[];
  labels: string[];
  created_at: Date;
  connected_replica: string | null;
}

/**
 * One page of enrolled agents in (created_at, id) order, `limit + 1` rows (the extra one says a
 * next page exists). The cursor is a row comparison, so PostgreSQL seeks the (created_at, id)
 * index and reads just the page, even when many agents share a creation time (bulk enrollment).
 * Only the columns of the view are read.
 */
export async function agentPage(db: Db, filter: AgentFilter, page: PageRequest<TimeIdKey>, env: { liveReplicas: Set<string>; licensed: boolean }): Promise<AgentViewRow[]> {
  const where: Prisma.Sql[] = [Prisma.sql`retired_at IS NULL`];
  if (filter.search) where.push(Prisma.sql`(strpos(lower(name), lower(${filter.search})) > 0 OR strpos(lower(hostname), lower(${filter.search})) > 0)`);
  if (filter.online !== undefined) {
    // Online = held by a live replica (agents/replica-presence.ts); a handful of replicas, so an IN list.
    const online = Prisma.sql`connected_replica = ANY(${[...env.liveReplicas]}::uuid[])`;
    where.push(filter.online ? online : Prisma.sql`(connected_replica IS NULL OR NOT (${online}))`);
  }
  if (filter.group) where.push(Prisma.sql`${filter.group} = ANY(groups)`);
  if (filter.label) where.push(Prisma.sql`${filter.label} = ANY(labels)`);
  if (filter.edition) {
    // With no edition in force (expired) no seat grants anything: every agent is unlicensed.
    if (filter.edition === 'unlicensed') where.push(env.licensed ? Prisma.sql`edition IS NULL` : Prisma.sql`TRUE`);
    else where.push(env.licensed ? Prisma.sql`edition = ${filter.edition}` : Prisma.sql`FALSE`);
  }
  if (page.after) where.push(Prisma.sql`(created_at, id) > (${new Date(page.after[0])}::timestamptz, ${page.after[1]}::uuid)`);
  const rows = await db.$queryRaw<Row[]>`
    SELECT id::text AS id, name, hostname, platform, version, last_seen_at, adapters,
           applied_rule_set_id::text AS applied_rule_set_id, applied_version, applied_content_hash,
           desired_rule_set_id::text AS desired_rule_set_id, desired_version, edition, groups, labels, created_at,
           connected_replica::text AS connected_replica
      FROM agents
     WHERE ${Prisma.join(where, ' AND ')}
     ORDER BY agents.created_at, agents.id -- the columns, not the id::text output column
     LIMIT ${page.limit + 1}`;
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    hostname: r.hostname,
    platform: r.platform,
    version: r.version,
    lastSeenAt: r.last_seen_at,
    adapters: r.adapters,
    appliedRuleSetId: r.applied_rule_set_id,
    appliedVersion: r.applied_version,
    appliedContentHash: r.applied_content_hash,
    desiredRuleSetId: r.desired_rule_set_id,
    desiredVersion: r.desired_version,
    edition: r.edition,
    groups: r.groups,
    labels: r.labels,
    createdAt: r.created_at,
    retiredAt: null,
    connectedReplica: r.connected_replica,
  }));
}
