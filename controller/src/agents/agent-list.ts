import { createHash } from 'node:crypto';
import { Pool, types, type CustomTypesConfig } from 'pg';
import type { PageRequest, TimeIdKey } from '../paging/page';
import { viewOfFields, type AgentView, type AgentViewFields } from './agent-view';
import { REPLICA_STALE_MS } from './replica-presence';

export interface AgentFilter {
  search?: string;
  online?: boolean;
  group?: string;
  label?: string;
  /** An edition, or 'unlicensed'. */
  edition?: string;
}

/** Page reads in flight per replica; each is a sub-millisecond index range, so a few connections keep up. */
const LIST_POOL_SIZE = 4;
/** How this pool's sessions show in pg_stat_activity. */
export const LIST_APPLICATION_NAME = 'portfleet agent list';
/** Agents whose parsed adapters are kept (~1 KB each). */
const ADAPTERS_CACHED = 20_000;
const TIMESTAMPTZ_OID = 1184;
const JSONB_OID = 3802;
const STALE_INTERVAL = `interval '${REPLICA_STALE_MS} milliseconds'`;

/**
 * The agent list: one page of enrolled agents in (created_at, id) order, read by one statement on
 * `pg` directly — the hottest read of the HTTP API (every console refresh, every script paging the
 * fleet). Prisma's raw-query mapping cost more CPU than everything else a page needs, and the
 * list needs none of its types: times arrive as ISO strings, JSON as parsed values.
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
  private readonly adapters = new ParsedJsonByKey<AgentViewFields['adapters']>(ADAPTERS_CACHED);

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

  /** `licensed`: false when the fleet has no edition (expired), so no seat grants anything. */
  async page(filter: AgentFilter, page: PageRequest<TimeIdKey>, licensed: boolean): Promise<AgentView[]> {
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
    const text = `
      SELECT id, name, hostname, platform, version, last_seen_at AS "lastSeenAt", adapters,
             applied_rule_set_id AS "appliedRuleSetId", applied_version AS "appliedVersion", applied_content_hash AS "appliedContentHash",
             desired_rule_set_id AS "desiredRuleSetId", desired_version AS "desiredVersion", edition, groups, labels,
             created_at AS "createdAt", NULL AS "retiredAt", ${online} AS online
        FROM agents
       WHERE ${where.join(' AND ')}
       ORDER BY created_at, id
       LIMIT ${param(page.limit + 1)}`;

    const { rows } = await this.pool.query<ListRow>({ name: this.statementName(text), text, values: params, types: LIST_TYPES });
    const now = new Date().toISOString();
    return rows.map((row) => {
      row.adapters = this.adapters.parse(row.id, row.adapters as string);
      return viewOfFields(row, row.online, licensed, now);
    });
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

type ListRow = AgentViewFields & { online: boolean };

/**
 * pg's parsers, except: timestamptz straight to the ISO string the API shows (no Date in between);
 * jsonb (the adapters) as text, parsed through the cache below.
 */
const LIST_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMPTZ_OID) return isoTimestamp;
    if (oid === JSONB_OID) return asText;
    return types.getTypeParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};
const asText = (text: string) => text;

/**
 * An agent's adapters change when its host's network does, yet every page read would parse them
 * again (a tenth of a page's CPU, and most of its garbage). Kept per agent with the text they came
 * from, so a changed inventory is parsed afresh and a stale one is never shown; frozen, since every
 * page shares them. Oldest entries go first once `max` agents are kept.
 */
export class ParsedJsonByKey<T> {
  private readonly entries = new Map<string, { text: string; value: T }>();

  constructor(private readonly max: number) {}

  parse(key: string, text: string): T {
    const entry = this.entries.get(key);
    if (entry?.text === text) return entry.value;
    const value = deepFreeze(JSON.parse(text) as T);
    if (entry) this.entries.delete(key);
    else if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { text, value });
    return value;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const UTC_TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;
const parseTimestamptz = types.getTypeParser(TIMESTAMPTZ_OID) as (text: string) => Date;

/**
 * PostgreSQL's timestamptz text as `Date.toISOString()` writes it (milliseconds, `Z`). A session in
 * UTC (`…+00`, the embedded server's zone) is rewritten as text; any other zone goes through a Date.
 */
export function isoTimestamp(text: string): string {
  const utc = UTC_TIMESTAMP.exec(text);
  if (!utc) return parseTimestamptz(text).toISOString();
  return `${utc[1]}T${utc[2]}.${utc[3] === undefined ? '000' : `${utc[3]}00`.slice(0, 3)}Z`;
}
