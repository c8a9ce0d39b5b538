import { MAX_ID_LENGTH } from '@portfleet/proto';
import { DomainError, ValidationError } from '../errors/domain-error';

/** Counters above this per sample are refused: sums of many could overflow the bigint columns. */
export const MAX_SAMPLE_COUNTER = 2 ** 40;

export class ActivityError extends DomainError {
  /** The ingest queue is full (PostgreSQL slow or down): the agent reconnects later and resends. */
  static overloaded(retryAfterS: number) {
    const error = new ActivityError('rate_limited', 'ACTIVITY_QUEUE_FULL', `the controller's activity queue is full; reconnect and resend in ${retryAfterS} s`, 'activity');
    error.retryAfterS = retryAfterS;
    return error;
  }
}

/**
 * Checked before a report joins a batch: one unstorable value would fail the whole batch (every
 * agent's reports in it), so bad input is refused here, naming the field.
 */
export function checkReport(report: { seq: number; periodEndMs: number; rules: readonly { ruleId: string; packetsIn: number; bytesIn: number; packetsOut: number; bytesOut: number; conversationsNew: number; lastHitMs: number }[] }): void {
  if (!Number.isSafeInteger(report.seq) || report.seq < 1) throw new ValidationError('activity.seq', 'OUT_OF_RANGE', 'must be a positive integer');
  if (!isTime(report.periodEndMs)) throw new ValidationError('activity.periodEndMs', 'OUT_OF_RANGE', 'must be a Unix time in ms');
  // Per sample at fleet rate: the field names are only built for an error.
  const rules = report.rules;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.ruleId.length === 0 || r.ruleId.length > MAX_ID_LENGTH || r.ruleId.includes('\u0000')) {
      throw new ValidationError(`activity.rules[${i}].ruleId`, 'INVALID_ID', `must be a rule id (1-${MAX_ID_LENGTH} characters)`);
    }
    if (!(isCounter(r.packetsIn) && isCounter(r.bytesIn) && isCounter(r.packetsOut) && isCounter(r.bytesOut) && isCounter(r.conversationsNew))) {
      const field = COUNTERS.find((f) => !isCounter(r[f]))!;
      throw new ValidationError(`activity.rules[${i}].${field}`, 'OUT_OF_RANGE', `must be between 0 and 2^40`);
    }
    if (r.lastHitMs !== 0 && !isTime(r.lastHitMs)) throw new ValidationError(`activity.rules[${i}].lastHitMs`, 'OUT_OF_RANGE', 'must be 0 or a Unix time in ms');
  }
}

const COUNTERS = ['packetsIn', 'bytesIn', 'packetsOut', 'bytesOut', 'conversationsNew'] as const;

/** An integer: the array literals the writer builds take integers only (a fraction would fail the whole batch). */
function isCounter(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= MAX_SAMPLE_COUNTER;
}

/** From 1970 to the year 9999: what both a JS Date and a PostgreSQL timestamptz hold. */
function isTime(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms > 0 && ms < 253_402_300_800_000;
}
