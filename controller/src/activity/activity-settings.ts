import { z } from 'zod';
import { ConfigError } from '../config';

export const ACTIVITY_SETTINGS = Symbol('ACTIVITY_SETTINGS');

const schema = z.object({
  PORTFLEET_ACTIVITY_MINUTE_RETENTION_HOURS: z.coerce.number().int().min(1).default(48),
  PORTFLEET_ACTIVITY_RETENTION_DAYS: z.coerce.number().int().min(1).default(90),
  PORTFLEET_ACTIVITY_RETENTION_INTERVAL_S: z.coerce.number().int().min(10).default(600),
  PORTFLEET_ACTIVITY_QUEUE_REPORTS: z.coerce.number().int().min(100).default(100_000),
  PORTFLEET_ACTIVITY_QUEUE_SAMPLES: z.coerce.number().int().min(100).default(1_000_000),
  PORTFLEET_ACTIVITY_QUEUE_WAIT_S: z.coerce.number().int().min(1).default(30),
  PORTFLEET_ACTIVITY_WRITERS: z.coerce.number().int().min(1).max(8).default(2),
  PORTFLEET_ACTIVITY_ROLLUP_INTERVAL_S: z.coerce.number().int().min(1).default(5),
});

export interface ActivitySettings {
  /** Minute buckets older than this are rolled up into hour buckets. */
  minuteRetentionMs: number;
  /** Hour buckets older than this are deleted. */
  retentionMs: number;
  /** How often rollup and deletion run. */
  retentionIntervalMs: number;
  /** Reports waiting to be written, at most; beyond it a report waits for room (its stream with it). */
  queueReports: number;
  /** …and samples in them, at most (~150 bytes each while queued): the queue's memory bound. */
  queueSamples: number;
  /** How long a report waits for room before its stream is refused (RESOURCE_EXHAUSTED). */
  queueWaitMs: number;
  /** Writer connections; each agent's reports always go through the same one, in order. */
  writers: number;
  /** How often raw reports of finished minutes are summed into buckets (activity-rollup.ts). */
  rollupIntervalMs: number;
}

/** The activity part of the environment (docs/controller.md); throws ConfigError naming the variable. */
export function activitySettings(env: NodeJS.ProcessEnv = process.env): ActivitySettings {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('PORTFLEET_ACTIVITY_') && v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(String(issue.path[0]), issue.message);
  }
  const e = result.data;
  if (e.PORTFLEET_ACTIVITY_RETENTION_DAYS * 24 < e.PORTFLEET_ACTIVITY_MINUTE_RETENTION_HOURS) {
    throw new ConfigError('PORTFLEET_ACTIVITY_RETENTION_DAYS', 'must cover at least PORTFLEET_ACTIVITY_MINUTE_RETENTION_HOURS');
  }
  return {
    minuteRetentionMs: e.PORTFLEET_ACTIVITY_MINUTE_RETENTION_HOURS * 3_600_000,
    retentionMs: e.PORTFLEET_ACTIVITY_RETENTION_DAYS * 86_400_000,
    retentionIntervalMs: e.PORTFLEET_ACTIVITY_RETENTION_INTERVAL_S * 1000,
    queueReports: e.PORTFLEET_ACTIVITY_QUEUE_REPORTS,
    queueSamples: e.PORTFLEET_ACTIVITY_QUEUE_SAMPLES,
    queueWaitMs: e.PORTFLEET_ACTIVITY_QUEUE_WAIT_S * 1000,
    writers: e.PORTFLEET_ACTIVITY_WRITERS,
    rollupIntervalMs: e.PORTFLEET_ACTIVITY_ROLLUP_INTERVAL_S * 1000,
  };
}
