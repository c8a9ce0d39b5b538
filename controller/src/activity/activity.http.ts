import { Controller, Get, Query } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { ValidationError } from '../errors/domain-error';
import { ActivityRates } from './activity-rates';
import { ActivityService, SERIES_BUCKETS_S, type SeriesQuery } from './activity.service';
import { parseAgentIds } from './agent-activity-totals';

const DEFAULT_RANGE_MS = 3600_000;

@Controller('api/activity')
export class ActivityHttp {
  constructor(
    private readonly activity: ActivityService,
    private readonly rates: ActivityRates,
  ) {}

  @Get()
  @Access('viewer')
  async totals(@Query('agentId') agentId?: string, @Query('ruleId') ruleId?: string) {
    return { totals: await this.activity.totals({ agentId: agentId || undefined, ruleId: ruleId || undefined }) };
  }

  /** Per-agent sums for the agents named (the console's visible page): agent-activity-totals.ts. */
  @Get('agents')
  @Access('viewer')
  async agentTotals(@Query('agentIds') agentIds?: string) {
    return { agents: await this.activity.agentTotals(parseAgentIds(agentIds)) };
  }

  @Get('series')
  @Access('viewer')
  async series(@Query() q: Record<string, string | undefined>) {
    const query = seriesQuery(q);
    return { bucketSeconds: query.bucketSeconds, points: await this.activity.series(query) };
  }

  @Get('rates')
  @Access('viewer')
  async current() {
    return this.rates.snapshot();
  }
}

export function seriesQuery(q: Record<string, string | undefined>): SeriesQuery {
  const scope = q.scope || 'fleet';
  if (scope !== 'fleet' && scope !== 'agent' && scope !== 'rule') throw new ValidationError('scope', 'INVALID_ENUM', 'must be fleet, agent or rule');
  if (scope === 'agent' && !q.agentId) throw new ValidationError('agentId', 'REQUIRED', 'is required for scope=agent');
  if (scope === 'rule' && !q.ruleId) throw new ValidationError('ruleId', 'REQUIRED', 'is required for scope=rule');
  const to = time(q.to, 'to') ?? new Date();
  const from = time(q.from, 'from') ?? new Date(to.getTime() - DEFAULT_RANGE_MS);
  const bucketSeconds = q.bucketSeconds ? Number(q.bucketSeconds) : 60;
  if (!SERIES_BUCKETS_S.includes(bucketSeconds)) throw new ValidationError('bucketSeconds', 'INVALID_ENUM', `must be one of ${SERIES_BUCKETS_S.join(', ')}`);
  return {
    scope,
    agentId: scope === 'fleet' ? undefined : q.agentId || undefined,
    ruleId: scope === 'rule' ? q.ruleId : undefined,
    from,
    to,
    bucketSeconds,
  };
}

function time(value: string | undefined, field: string): Date | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ValidationError(field, 'INVALID_TYPE', 'must be an ISO-8601 time');
  return new Date(ms);
}
