import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import type { PageRequest, TimeIdKey } from '../paging/page';
import { REPLICA_STALE_MS } from './replica-presence';

export interface AgentFilter {
  search?: string;
  online?: boolean;
  group?: string;
  label?: string;
  /** An edition, or 'unlicensed'. */
  edition?: string;
}

/** A page of agents as PostgreSQL wrote it. */
export interface AgentPageText {
  /** The agents' `Agent` JSON (docs/http-api.md), comma-separated: a JSON array's contents. */
  agents: string;
  /** The last agent's key, when another page follows. */
  last?: TimeIdKey;
}

interface PageRow {
  agents: string | null;
  more: boolean;
  lastCreatedAt: string | null;
  lastId: string | null;
}

/** Page reads in flight per replica; each is a sub-millisecond index range, so a few connections keep up. */
const LIST_POOL_SIZE = 4;
/** How this pool's sessions show in pg_stat_activity. */
export const LIST_APPLICATION_NAME = 'portfleet agent list';
const STALE_INTERVAL = `interval '${REPLICA_STALE_MS} milliseconds'`;

/** A timestamptz as `Date.toISOString()` writes it (UTC, milliseconds, `Z`; the columns hold milliseconds). */
const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The agent list: one page of enrolled agents in (created_at, id) order, read by one statement on
 * `pg` directly — the hottest read of the HTTP API (every console refresh, every script paging the
 * fleet). PostgreSQL writes the page's JSON itself (`row_to_json` per agent, the adapters' jsonb
 * copied in as stored) and sends it as one text value: a page of 100 is ~60 KB, and decoding it
 * into objects only to stringify them again was most of the controller's CPU per page. The view's rules are `agentView`'s
 * (agent-view.ts, which `GET /api/agents/:id` uses), restated in SQL; controller/test/agent-list
 * checks that both give the same JSON for every kind of agent.
 *
 * The cursor is a row comparison, so PostgreSQL seeks the (created_at, id) index and reads just the
 * page, even when many agents share a creation time (bulk enrollment). `limit + 1` rows are read
 * (the extra one says a next page exists). Online is decided in the same statement, from the same
 * rule as `ReplicaPresence.live()` (held by this replica, or by one whose heartbeat is fresh on the
 * database clock), so a page costs one round trip.
 */
export class AgentList {
  private readonly pool: Pool;
  /** Statement names by text: each shape of filter is parsed and planned once per connection. */
  private readonly statementNames = new Map<string, string>();

  constructor(
    databaseUrl: string,
    private readonly replicaId: string,
  ) {
    this.pool = new Pool({
      connectionString: databaseUrl,
      max: LIST_POOL_SIZE,
      connectionTimeoutMillis: 5_000,
      application_name: LIST_APPLICATION_NAME,
      // Planned once per connection and shape of filter, not per page. PostgreSQL would otherwise
      // re-plan every execution (0.3 ms, more than running it): a generic plan with `LIMIT $n` looks
      // costlier to it than a custom one, though both are the same index range. (pg-pool awaits it.)
      onConnect: (client) => client.query('SET plan_cache_mode = force_generic_plan').then(() => undefined, () => undefined),
    });
    // A connection lost while idle (PostgreSQL restarting) leaves the pool; the next page opens another.
    this.pool.on('error', () => undefined);
  }

  /**
   * `licensed`: false when the fleet has no edition (expired), so no seat grants anything. `now`:
   * an online agent's `lastSeenAt` (heartbeats write nothing: it is seen now).
   */
  async page(filter: AgentFilter, page: PageRequest<TimeIdKey>, licensed: boolean, now = new Date().toISOString()): Promise<AgentPageText> {
    const params: unknown[] = [];
    const param = (value: unknown, cast = '') => `$${params.push(value)}${cast}`;
    const liveReplicas = `ARRAY(SELECT id FROM controller_replicas WHERE seen_at > now() - ${STALE_INTERVAL} UNION ALL SELECT ${param(this.replicaId, '::uuid')})`;
    const online = `COALESCE(connected_replica = ANY(${liveReplicas}), false)`;

    const where = ['retired_at IS NULL'];
    if (filter.search) {
      const search = param(filter.search);
      where.push(`(strpos(lower(name), lower(${search})) > 0 OR strpos(lower(hostname), lower(${search})) > 0)`);
    }
    if (filter.online !== undefined) where.push(filter.online ? online : `NOT ${online}`);
    if (filter.group) where.push(`${param(filter.group)} = ANY(groups)`);
    if (filter.label) where.push(`${param(filter.label)} = ANY(labels)`);
    if (filter.edition) {
      // With no edition in force (expired) no seat grants anything: every agent is unlicensed.
      if (filter.edition === 'unlicensed') where.push(licensed ? 'edition IS NULL' : 'TRUE');
      else where.push(licensed ? `edition = ${param(filter.edition)}` : 'FALSE');
    }
    if (page.after) {
      // Any time Date.parse accepts (a cursor is opaque, but can be forged) reaches PostgreSQL in one form.
      const after = new Date(page.after[0]).toISOString();
      where.push(`(created_at, id) > (${param(after, '::timestamptz')}, ${param(page.after[1], '::uuid')})`);
    }
    const limit = param(page.limit);
    // The page in the order the index gives, numbered: the first `limit` joined into the page's
    // text, one more only saying another page follows. Every ORDER BY here is the index's, so
    // PostgreSQL sorts nothing. Keys in agentView's order.
    const text = `
      SELECT string_agg(json, ',' ORDER BY created_at, id) FILTER (WHERE n <= ${limit}) AS agents, count(*) > ${limit} AS more,
             max("createdAt") FILTER (WHERE n = ${limit}) AS "lastCreatedAt", max(id::text) FILTER (WHERE n = ${limit}) AS "lastId"
        FROM (SELECT created_at, id, "createdAt", row_number() OVER (ORDER BY created_at, id) AS n,
                     (SELECT row_to_json(v)::text
                        FROM (SELECT id, name, hostname, platform, version, online,
                                     CASE WHEN online THEN ${param(now, '::text')} ELSE ${isoText('last_seen_at')} END AS "lastSeenAt",
                                     adapters, applied_rule_set_id AS "appliedRuleSetId", applied_version AS "appliedVersion",
                                     applied_content_hash AS "appliedContentHash", desired_rule_set_id AS "desiredRuleSetId", desired_version AS "desiredVersion",
                                     (desired_rule_set_id IS NOT NULL AND (applied_rule_set_id IS DISTINCT FROM desired_rule_set_id
                                                                           OR applied_version IS DISTINCT FROM desired_version)) AS drift,
                                     CASE WHEN ${param(licensed, '::boolean')} THEN edition END AS edition, groups, labels,
                                     "createdAt", NULL::text AS "retiredAt") v) AS json
                FROM (SELECT id, name, hostname, platform, version, last_seen_at, adapters, applied_rule_set_id, applied_version, applied_content_hash,
                             desired_rule_set_id, desired_version, edition, groups, labels, created_at, ${isoText('created_at')} AS "createdAt", ${online} AS online
                        FROM agents
                       WHERE ${where.join(' AND ')}
                       ORDER BY created_at, id
                       LIMIT ${limit} + 1) a) p`;

    const { rows } = await this.pool.query<PageRow>({ name: this.statementName(text), text, values: params });
    const row = rows[0]!;
    return { agents: row.agents ?? '', last: row.more ? [row.lastCreatedAt!, row.lastId!] : undefined };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private statementName(text: string): string {
    let name = this.statementNames.get(text);
    if (!name) {
      name = `agent_page_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
      this.statementNames.set(text, name);
    }
    return name;
  }
}
