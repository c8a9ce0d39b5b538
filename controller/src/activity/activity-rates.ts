import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service';
import { EventBus } from '../events/event-bus';
import { Prisma } from '../generated/prisma/client';
import { MINUTE_MS } from './activity-buckets';

export const RATE_WINDOW_MS = 60_000;
const PUBLISH_INTERVAL_MS = 5_000;
/**
 * The periodic read groups every (agent, rule) of two minutes (~1 M rows at 10,000 agents × 50
 * rules) in PostgreSQL and here: after a read that took t, the next waits at least this many t,
 * so live rates take at most ~1/20 of the time however large the fleet. Only while someone watches.
 */
const PUBLISH_COST_FACTOR = 20;
/**
 * The `activity` event names at most this many agents and rules, the busiest (packets, then bytes);
 * the rest are counted in `agentsOmitted` / `rulesOmitted` (GET /api/activity/rates has them all).
 * At 10,000 agents × 50 rules the whole snapshot is ~85 MB of JSON, every 5 s, for every watcher.
 */
export const LIVE_EVENT_MAX_ENTRIES = 500;
/** A snapshot younger than this answers GET /api/activity/rates again (one query however many ask). */
const REUSE_MS = 1_000;

export interface Rate {
  packetsPerSecond: number;
  bytesPerSecond: number;
}

/** One (agent, rule) over the window, as summed from its minute buckets. */
export interface RuleWindowSum {
  agentId: string;
  ruleId: string;
  packets: number;
  bytes: number;
  lastHitMs: number;
}

export interface RatesSnapshot {
  windowSeconds: number;
  fleet: Rate;
  agents: ({ agentId: string } & Rate)[];
  rules: ({ agentId: string; ruleId: string; lastHitAt: string | null } & Rate)[];
}

/**
 * Reports reach their bucket seconds after their period ended (the agent's interval, then ingest):
 * for this long into a minute the previous minute still counts in full.
 */
const PREVIOUS_MINUTE_GRACE_MS = 10_000;

/**
 * The last 60 s from minute buckets: the current minute so far, plus a share of the previous
 * minute: all of it for the first 10 s (the grace), then falling linearly to none at the minute's
 * end. With even traffic this overstates the rate by at most a sixth (at 10 s into a minute) and
 * is exact at its end; a burst is counted in full until 10 s into the next minute.
 */
export function rateWindow(nowMs: number): { previousMs: number; currentMs: number; previousShare: number } {
  const currentMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  const previousShare = Math.min(1, (MINUTE_MS - (nowMs - currentMs)) / (MINUTE_MS - PREVIOUS_MINUTE_GRACE_MS));
  return { previousMs: currentMs - MINUTE_MS, currentMs, previousShare };
}

/** Per-rule sums over the window → rates per rule, per agent and for the fleet. */
export function ratesOf(sums: readonly RuleWindowSum[], windowSeconds = RATE_WINDOW_MS / 1000): RatesSnapshot {
  const perSecond = (packets: number, bytes: number): Rate => ({ packetsPerSecond: packets / windowSeconds, bytesPerSecond: bytes / windowSeconds });
  const agents = new Map<string, { packets: number; bytes: number }>();
  let packets = 0;
  let bytes = 0;
  for (const s of sums) {
    packets += s.packets;
    bytes += s.bytes;
    const a = agents.get(s.agentId) ?? { packets: 0, bytes: 0 };
    a.packets += s.packets;
    a.bytes += s.bytes;
    agents.set(s.agentId, a);
  }
  return {
    windowSeconds,
    fleet: perSecond(packets, bytes),
    agents: [...agents].map(([agentId, a]) => ({ agentId, ...perSecond(a.packets, a.bytes) })),
    rules: sums.map((s) => ({ agentId: s.agentId, ruleId: s.ruleId, ...perSecond(s.packets, s.bytes), lastHitAt: s.lastHitMs > 0 ? new Date(s.lastHitMs).toISOString() : null })),
  };
}

export type LiveActivity = RatesSnapshot & { agentsOmitted: number; rulesOmitted: number };

/** What the `activity` event carries: the fleet's rate and its busiest agents and rules. */
export function liveActivity(snapshot: RatesSnapshot, max = LIVE_EVENT_MAX_ENTRIES): LiveActivity {
  const busiest = <T extends Rate>(entries: T[]) =>
    entries.length <= max ? entries : [...entries].sort((x, y) => y.packetsPerSecond - x.packetsPerSecond || y.bytesPerSecond - x.bytesPerSecond).slice(0, max);
  const agents = busiest(snapshot.agents);
  const rules = busiest(snapshot.rules);
  return { ...snapshot, agents, rules, agentsOmitted: snapshot.agents.length - agents.length, rulesOmitted: snapshot.rules.length - rules.length };
}

/**
 * Live packet/byte rates over the last minute for the whole fleet, whichever replica stored the
 * reports: read from the minute buckets in PostgreSQL (rateWindow), which every replica writes. One grouped scan of at most two buckets per (agent, rule), found through the
 * BRIN index on bucket_start (10,000 agents × 4 rules: ≤ 80,000 rows). It runs only when asked:
 * for GET /api/activity/rates (shared by callers within a second), and every 5 s while someone
 * on this replica watches live events; each replica sends the `activity` event to its own
 * watchers only (every replica computes the same fleet-wide figures, so relaying would repeat them).
 */
@Injectable()
export class ActivityRates implements OnModuleDestroy {
  private readonly timer: NodeJS.Timeout;
  private latest?: { atMs: number; snapshot: Promise<RatesSnapshot> };
  private publishedActivity = false;
  private publishing = false;
  private nextPublishAtMs = 0;

  constructor(
    private readonly db: PrismaService,
    private readonly bus: EventBus,
  ) {
    this.timer = setInterval(() => void this.publish(), PUBLISH_INTERVAL_MS);
    this.timer.unref();
  }

  snapshot(nowMs = Date.now()): Promise<RatesSnapshot> {
    if (this.latest && nowMs - this.latest.atMs < REUSE_MS) return this.latest.snapshot;
    const snapshot = this.read(nowMs);
    this.latest = { atMs: nowMs, snapshot };
    snapshot.catch(() => (this.latest = undefined));
    return snapshot;
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private async read(nowMs: number): Promise<RatesSnapshot> {
    const window = rateWindow(nowMs);
    const share = Prisma.sql`CASE WHEN bucket_start < ${new Date(window.currentMs)} THEN ${window.previousShare}::float8 ELSE 1 END`;
    const rows = await this.db.$queryRaw<{ agent_id: string; rule_id: string; packets: number; bytes: number; last_hit_ms: number | null }[]>`
      SELECT agent_id::text AS agent_id, rule_id,
             sum((packets_in + packets_out) * ${share})::float8 AS packets, sum((bytes_in + bytes_out) * ${share})::float8 AS bytes,
             (extract(epoch FROM max(last_hit_at)) * 1000)::float8 AS last_hit_ms
        FROM activity_buckets WHERE bucket_start >= ${new Date(window.previousMs)}
       GROUP BY agent_id, rule_id`;
    return ratesOf(rows.map((r) => ({ agentId: r.agent_id, ruleId: r.rule_id, packets: r.packets, bytes: r.bytes, lastHitMs: r.last_hit_ms ?? 0 })));
  }

  /** Every 5 s (less often when a read is slow) while this replica has listeners and there is activity (plus once after it stops, so rates fall to zero). */
  private async publish(): Promise<void> {
    if (this.publishing || this.bus.watcherCount() === 0 || Date.now() < this.nextPublishAtMs) return;
    this.publishing = true;
    const startedMs = Date.now();
    try {
      const snapshot = await this.snapshot();
      this.nextPublishAtMs = startedMs + PUBLISH_COST_FACTOR * (Date.now() - startedMs);
      const active = snapshot.rules.length > 0;
      if (active || this.publishedActivity) this.bus.publishLocal('activity', liveActivity(snapshot));
      this.publishedActivity = active;
    } catch {
      // PostgreSQL unreachable: the next interval tries again (GET callers see the error).
    } finally {
      this.publishing = false;
    }
  }
}
