import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The controller's Prometheus metrics; one registry per controller (tests run several in one process). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly pushLatency = new Histogram({
    name: 'portfleet_push_latency_seconds',
    help: 'From sending a rule set to an agent to its answer (applied or failed)',
    labelNames: ['result'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly connectedAgents = new Gauge({ name: 'portfleet_connected_agents', help: 'Agents with a live Connect stream', registers: [this.registry] });
  readonly activityReports = new Counter({ name: 'portfleet_activity_reports_total', help: 'Activity reports stored (duplicates not counted)', registers: [this.registry] });
  readonly activityRules = new Counter({ name: 'portfleet_activity_rules_total', help: 'Per-rule counter rows ingested', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
