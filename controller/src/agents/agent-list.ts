import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import type { PageRequest, TimeIdKey } from '../paging/page';
import { AgentFragments, FragmentWriter, fragmentOf, type AgentFragment } from './agent-fragments';
import type { AgentViewRow } from './agent-view';
import { REPLICA_STALE_MS } from './replica-presence';

export interface AgentFilter {
  search?: string;
  online?: boolean;
  group?: string;
  label?: string;
  /** An edition, or 'unlicensed'. */
  edition?: string;
  /** true: only agents whose applied rule set differs from the one last pushed to them (`Agent.drift`); false: the others. */
  drift?: boolean;
}

/** Where the statement's parameters go: `param(value, cast)` appends one and returns its `$n`. */
export type SqlParam = (value: unknown, cast?: string) => string;

/** The SQL condition of "online" (as `ReplicaPresence.live()` decides it) for the replica `replicaId`. */
export function onlineCondition(param: SqlParam, replicaId: string): string {
  const liveReplicas = `ARRAY(SELECT id FROM controller_replicas WHERE seen_at > now() - ${STALE_INTERVAL} UNION ALL SELECT ${param(replicaId, '::uuid')})`;
  return `COALESCE(connected_replica = ANY(${liveReplicas}), false)`;
}

/**
 * The conditions on `agents` rows that `filter` makes (ANDed), shared by the list and its summary
 * (agent-summary.ts) so a count and its pages always agree. `online` is `onlineCondition`'s text.
 */
export function filterConditions(filter: AgentFilter, param: SqlParam, online: string, licensed: boolean): string[] {
  const where = ['retired_at IS NULL'];
  if (filter.search) {
    const search = param(filter.search);
    where.push(`(strpos(lower(name), lower(${search})) > 0 OR strpos(lower(hostname), lower(${search})) > 0
                 OR EXISTS (SELECT 1 FROM unnest(groups || labels) t WHERE strpos(lower(t), lower(${search})) > 0))`);
  }
  if (filter.online !== undefined) where.push(filter.online ? online : `NOT ${online}`);
  if (filter.group) where.push(`${param(filter.group)} = ANY(groups)`);
  if (filter.label) where.push(`${param(filter.label)} = ANY(labels)`);
  if (filter.edition) {
    // With no edition in force (expired) no seat grants anything: every agent is unlicensed.
    if (filter.edition === 'unlicensed') where.push(licensed ? 'edition IS NULL' : 'TRUE');
    else where.push(licensed ? `edition = ${param(filter.edition)}` : 'FALSE');
  }
  if (filter.drift !== undefined) {
    // agentView's `drift`, in SQL.
    const drift = `(desired_rule_set_id IS NOT NULL AND (applied_rule_set_id IS DISTINCT FROM desired_rule_set_id OR applied_version IS DISTINCT FROM desired_version))`;
    where.push(filter.drift ? drift : `NOT ${drift}`);
  }
  return where;
}

/** A page of agents' JSON. */
export interface AgentPageText {
  /** The agents' `Agent` JSON (docs/http-api.md), comma-separated, UTF-8: a JSON array's contents. */
  agents: Buffer;
  /** The last agent's key, when another page follows. */
  last?: TimeIdKey;
}

/** A listed agent: its id, its row version and whether it is online. */
type PageKey = [id: string, version: string, online: boolean];

/** A page's agents in order, and whether each is online. */
interface ResolvedPage {
  fragments: AgentFragment[];
  online: boolean[];
  until: number;
}
/** Held agents' JSON is dropped after this (an `xmin` could come round again after 2^32 transactions). */
const FRAGMENT_MAX_AGE_MS = 3_600_000;
/**
 * Agents named by the resolved pages remembered, in all: a fleet of 20,000 in any page size. A
 * remembered page keeps its agents' JSON alive even once a newer version replaced it in
 * `AgentFragments`, so this bounds that too (~1.9 KB an agent).
 */
const RESOLVED_AGENTS = 20_000;

/** Reads `<id><t|f><xmin>,…` (a uuid's text is 36 characters). */
function pageKeys(text: string): PageKey[] {
  const keys: PageKey[] = [];
  for (let at = 0; at < text.length; ) {
    const comma = text.indexOf(',', at);
    const end = comma < 0 ? text.length : comma;
    keys.push([text.slice(at, at + 36), text.slice(at + 37, end), text.charCodeAt(at + 36) === 116 /* t */]);
    at = end + 1;
  }
  return keys;
}

/** Page reads in flight per replica; each is a sub-millisecond index range, so a few connections keep up. */
const LIST_POOL_SIZE = 4;
/** How this pool's sessions show in pg_stat_activity. */
export const LIST_APPLICATION_NAME = 'portfleet agent list';
const STALE_INTERVAL = `interval '${REPLICA_STALE_MS} milliseconds'`;

const BEFORE_EVERY_AGENT: TimeIdKey = ['0001-01-01T00:00:00.000Z', '00000000-0000-0000-0000-000000000000'];
/** The columns `agentView` reads, named as Prisma names them (default `pg` parsers: Date, parsed jsonb, string[]). */
const VIEW_COLUMNS = `id, name, hostname, platform, version, last_seen_at AS "lastSeenAt", adapters, applied_rule_set_id AS "appliedRuleSetId",
  applied_version AS "appliedVersion", applied_content_hash AS "appliedContentHash", desired_rule_set_id AS "desiredRuleSetId",
  desired_version AS "desiredVersion", edition, groups, labels, created_at AS "createdAt", retired_at AS "retiredAt", connected_replica AS "connectedReplica"`;
const RENDER_STATEMENT = { name: 'agent_fragments', text: `SELECT xmin AS "rowVersion", ${VIEW_COLUMNS} FROM agents WHERE id = ANY($1::uuid[])` };

/**
 * The agent list: one page of enrolled agents in (created_at, id) order — the hottest read of the
 * HTTP API (every console refresh, every script paging the fleet), on `pg` directly.
 *
 * A page is one statement that reads, for each agent, only its id, its row version (`xmin`) and
 * whether it is online; the agents' JSON comes from `AgentFragments`, each made by `agentView`
 * (the view's one definition, as `GET /api/agents/:id`) from the row version it was made from.
 * Agents whose row changed since (or never seen) are read in full by a second statement and
 * rendered again, so a page never shows anything older than its own read (and a page whose
 * result text is unchanged resolves in one lookup: `resolve`). Writing a page's JSON in
 * PostgreSQL (`row_to_json`, 0.8 ms of its CPU per 100 agents, every page) was most of a page's
 * cost; a fleet's rows change far less often than a busy API reads them.
 *
 * The cursor is a row comparison, so PostgreSQL seeks the (created_at, id) index and reads just the
 * page, even when many agents share a creation time (bulk enrollment). `limit + 1` rows are read
 * (the extra one says a next page exists). Online is decided in the same statement, from the same
 * rule as `ReplicaPresence.live()` (held by this replica, or by one whose heartbeat is fresh on the
 * database clock), never cached.
 */
export class AgentList {
  private readonly pool: Pool;
  private readonly fragments = new AgentFragments(50_000, FRAGMENT_MAX_AGE_MS);
  /** By the page statement's result text (which names every agent, version and presence): see `resolve`. */
  private readonly resolvedPages = new Map<string, ResolvedPage>();
  private resolvedAgents = 0;
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
    const online = onlineCondition(param, this.replicaId);
    const where = filterConditions(filter, param, online, licensed);
    if (page.after) {
      // Any time Date.parse accepts (a cursor is opaque, but can be forged) reaches PostgreSQL in one form.
      const after = new Date(page.after[0]).toISOString();
      where.push(`(created_at, id) > (${param(after, '::timestamptz')}, ${param(page.after[1], '::uuid')})`);
    }
    // One text value, `<id><t|f><xmin>` per agent, comma-separated: 101 rows cost the controller
    // more to decode than the page's every other step. The ORDER BY is the index's: nothing sorts.
    const text = `SELECT string_agg(id::text || CASE WHEN online THEN 't' ELSE 'f' END || xmin::text, ',' ORDER BY created_at, id)
                    FROM (SELECT id, xmin, created_at, ${online} AS online FROM agents WHERE ${where.join(' AND ')}
                           ORDER BY created_at, id LIMIT ${param(page.limit)} + 1) p`;
    const { rows } = await this.pool.query<[string | null]>({ name: this.statementName(text), text, values: params, rowMode: 'array' });
    const { fragments, online: isOnline } = await this.resolve(rows[0]?.[0] ?? '');
    const count = Math.min(fragments.length, page.limit);
    const writer = new FragmentWriter(licensed, now);
    for (let i = 0; i < count; i++) writer.add(fragments[i]!, isOnline[i]!);
    if (fragments.length <= page.limit) return { agents: writer.toBuffer(), last: undefined };
    // Every agent of a full page deleted since it was read: go on from where it began.
    const last = fragments[count - 1];
    return { agents: writer.toBuffer(), last: last ? [last.createdAt, last.id] : (page.after ?? BEFORE_EVERY_AGENT) };
  }

  /**
   * The agents the page statement's result text names, each with its fragment: held ones whose row is
   * unchanged, the others rendered from a fresh read. The same text (same agents, same versions,
   * same presence) resolves to the same fragments, so it is remembered whole: a page read again
   * with nothing changed costs one lookup instead of one per agent.
   */
  private async resolve(text: string): Promise<ResolvedPage> {
    const now = Date.now();
    const known = this.resolvedPages.get(text);
    if (known !== undefined && known.until > now) return known;
    const keys = pageKeys(text);
    const fragments: (AgentFragment | undefined)[] = keys.map(([id, version]) => this.fragments.get(id, version, now));
    const stale = keys.filter((_, i) => fragments[i] === undefined).map(([id]) => id);
    if (stale.length > 0) {
      const { rows } = await this.pool.query<AgentViewRow & { rowVersion: string }>({ ...RENDER_STATEMENT, values: [stale] });
      const rendered = new Map(rows.map((row) => [row.id, fragmentOf(row, row.rowVersion)]));
      for (const [id, fragment] of rendered) this.fragments.set(id, fragment, now);
      keys.forEach(([id], i) => (fragments[i] ??= rendered.get(id)));
    }
    // An agent deleted between the two reads is left out; such a page is not remembered.
    const kept = keys.flatMap(([, , online], i) => (fragments[i] ? [{ fragment: fragments[i], online }] : []));
    const resolved: ResolvedPage = { fragments: kept.map((k) => k.fragment), online: kept.map((k) => k.online), until: now + FRAGMENT_MAX_AGE_MS };
    if (kept.length === keys.length && stale.length === 0) this.remember(text, resolved);
    return resolved;
  }

  private remember(text: string, resolved: ResolvedPage): void {
    // Map keeps insertion order: the first entries are the oldest.
    for (const [oldest, page] of this.resolvedPages) {
      if (this.resolvedAgents + resolved.fragments.length <= RESOLVED_AGENTS) break;
      this.resolvedPages.delete(oldest);
      this.resolvedAgents -= page.fragments.length;
    }
    const replaced = this.resolvedPages.get(text);
    if (replaced) this.resolvedAgents -= replaced.fragments.length;
    this.resolvedPages.set(text, resolved);
    this.resolvedAgents += resolved.fragments.length;
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
