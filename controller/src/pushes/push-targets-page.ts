import type { FieldError } from '@portfleet/proto';
import { onlineCondition } from '../agents/agent-list';
import type { PrismaService } from '../db/prisma.service';
import { ValidationError } from '../errors/domain-error';
import { isUuid } from '../errors/request-fields';
import type { Push, PushTargetState } from '../generated/prisma/client';
import { toPage, type Page, type PageRequest } from '../paging/page';
import { PushError } from './pushes.errors';
import { pushSummary, TARGET_STATES, type PushCounts, type PushSummary } from './push-view';

/**
 * What the console's push page reads while a push to thousands of agents runs, instead of the
 * whole `Push` (every target) and the whole fleet: the push with its counts aggregated in SQL, and
 * one keyset page of its targets joined with what the page shows of each agent.
 */

/** A target with its agent's name, host and presence (`GET /api/pushes/:id/targets`). */
export interface PushTargetRow {
  agentId: string;
  name: string;
  hostname: string;
  online: boolean;
  retired: boolean;
  state: PushTargetState;
  wave: number;
  errors: FieldError[];
  updatedAt: string;
}

/** The targets page's key: the agent id (the table's primary key is (push_id, agent_id): a page is an index range). */
export const isAgentIdKey = (v: unknown): v is string => typeof v === 'string' && isUuid(v);

/** `?state=failed` or `?state=pending,delivered` → the states, or a ValidationError naming `state`. */
export function parseTargetStates(value: string | undefined): PushTargetState[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const states = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
  const bad = states.find((s) => !(TARGET_STATES as readonly string[]).includes(s));
  if (bad !== undefined) throw new ValidationError('state', 'INVALID_ENUM', `must be one or more of ${TARGET_STATES.join(', ')} (comma-separated); "${bad.slice(0, 32)}" is not one`);
  return states as PushTargetState[];
}

interface SummaryRow {
  id: string;
  rule_set_id: string;
  version: number;
  created_at: Date;
  created_by: string;
  status: Push['status'];
  waves: number[];
  max_failure_percent: number;
  current_wave: number;
  rollback_of: string | null;
  counts: Partial<Record<PushTargetState, number>> | null;
}

/**
 * `PushSummary` of one push: its row and its counts in one statement (a GROUP BY over its
 * targets; 10,000 rows take a few ms and nothing leaves the database but seven numbers).
 */
export async function pushSummaryOf(db: PrismaService, id: string): Promise<PushSummary> {
  const rows = isUuid(id)
    ? await db.$queryRawUnsafe<SummaryRow[]>(
      `SELECT p.id::text AS id, p.rule_set_id::text AS rule_set_id, p.version, p.created_at, p.created_by, p.status::text AS status,
              p.waves, p.max_failure_percent, p.current_wave, p.rollback_of::text AS rollback_of,
              (SELECT json_object_agg(state, n) FROM (SELECT state::text AS state, count(*)::int AS n FROM push_targets
                                                       WHERE push_id = p.id GROUP BY state) c) AS counts
         FROM pushes p WHERE p.id = $1::uuid`,
      id,
    )
    : [];
  const row = rows[0];
  if (!row) throw PushError.notFound(id);
  const counts = Object.fromEntries(TARGET_STATES.map((s) => [s, row.counts?.[s] ?? 0])) as PushCounts;
  const push: Push = {
    id: row.id,
    ruleSetId: row.rule_set_id,
    version: row.version,
    createdAt: new Date(row.created_at),
    createdBy: row.created_by,
    status: row.status,
    waves: row.waves,
    maxFailurePercent: row.max_failure_percent,
    currentWave: row.current_wave,
    rollbackOf: row.rollback_of,
  };
  return pushSummary(push, counts);
}

/** A `PushTargetRow` as the statement returns it: snake_case keys, JSON and timestamp not yet typed. */
type TargetPageRow = Omit<PushTargetRow, 'agentId' | 'errors' | 'updatedAt'> & { agent_id: string; errors: unknown; updated_at: Date };

/**
 * One page of a push's targets in agent id order, optionally only those in `states`. The push's
 * primary key range is walked from the cursor: the page costs its rows (plus, with a rare state
 * such as `failed`, the index entries skipped to find them), not the push's size.
 */
export async function pushTargetsPage(
  db: PrismaService,
  replicaId: string,
  id: string,
  states: readonly PushTargetState[] | undefined,
  page: PageRequest<string>,
): Promise<Page<PushTargetRow>> {
  const params: unknown[] = [];
  const param = (value: unknown, cast = '') => `$${params.push(value)}${cast}`;
  const online = onlineCondition(param, replicaId);
  const pushId = isUuid(id) ? id : '00000000-0000-0000-0000-000000000000';
  const where = [`push_id = ${param(pushId, '::uuid')}`];
  if (states) where.push(`state::text = ANY(${param(states, '::text[]')})`);
  if (page.after) where.push(`agent_id > ${param(page.after, '::uuid')}`);
  // The page is cut from push_targets before the join: the statistics of a push just created say
  // nothing of its 10,000 targets, and with the join inside the LIMIT the planner then joined every
  // target to its agent and sorted them (48 ms for a page of 50 of a fresh 10,000-target push; cut
  // first, 4 ms, and 0.2 ms once the table is analyzed).
  const rows = await db.$queryRawUnsafe<TargetPageRow[]>(
    `SELECT t.agent_id::text AS agent_id, a.name, a.hostname, ${online} AS online, a.retired_at IS NOT NULL AS retired,
            t.state::text AS state, t.wave, t.errors, t.updated_at
       FROM (SELECT agent_id, state, wave, errors, updated_at FROM push_targets
              WHERE ${where.join(' AND ')} ORDER BY agent_id LIMIT ${param(page.limit + 1, '::int')}) t
       JOIN agents a ON a.id = t.agent_id
      ORDER BY t.agent_id`,
    ...params,
  );
  // An empty page of a push that does not exist is a 404, not "no targets" (checked only then: one statement per page).
  if (rows.length === 0 && (await db.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM pushes WHERE id = $1::uuid`, pushId)).length === 0) {
    throw PushError.notFound(id);
  }
  return toPage(rows, page.limit, (r) => r.agent_id, ({ agent_id, errors, updated_at, ...shown }) => ({
    agentId: agent_id,
    ...shown,
    errors: errors as FieldError[],
    updatedAt: new Date(updated_at).toISOString(),
  }));
}
