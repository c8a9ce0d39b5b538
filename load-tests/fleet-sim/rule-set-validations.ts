import { ruleErrorToWire, ruleSetVersionFromWire } from '@portfleet/proto';
import type { RuleError, RuleSetVersion } from '@portfleet/proto/gen/rules';
import { grpcFrame } from './connect-channel';
import type { AppliedRuleSet } from './sim-agent';

export type Validation = { ok: true; applied: AppliedRuleSet } | { ok: false; errors: RuleError[] };

/** A fleet sees a handful of rule set versions; more than this and the oldest results are forgotten. */
const MAX_REMEMBERED = 64;

/**
 * What the agent's validation (`ruleSetVersionFromWire`: every rule, the settings, the content
 * hash recomputed) says about each pushed version, computed once per distinct (ruleSetId,
 * version, contentHash) and shared by every simulated agent: a push to 10,000 agents carries the
 * same version 10,000 times, and validating each copy cost ~0.7 ms (7 s of one thread). Each agent
 * still answers with the ack the agent would send. The key is what the controller promises is
 * unique (a version's content never changes), so two copies with one key are one content.
 */
export class RuleSetValidations {
  private readonly results = new Map<string, Validation>();
  /** Per push: the verdict its ack was encoded for, and that ack as a gRPC message. */
  private readonly acks = new Map<string, { verdict: Validation; frame: Buffer }>();
  /** Validations actually computed (the rest were reused). */
  computed = 0;

  /**
   * The agent's verdict on a push and its ack, encoded once per push and verdict: every agent of
   * a push answers with the same bytes, and encoding 10,000 copies was a sixth of the simulator's
   * work in a push. The frame is shared: written as is, never changed.
   */
  answer(pushId: string, wire: RuleSetVersion | undefined): { verdict: Validation; frame: Buffer } {
    const verdict = this.validate(wire);
    const known = this.acks.get(pushId);
    if (known?.verdict === verdict) return known;
    const frame = grpcFrame({
      body: {
        $case: 'ack',
        value: {
          pushId,
          ruleSetId: wire?.ruleSetId ?? '',
          version: wire?.version ?? 0,
          contentHash: wire?.contentHash ?? '',
          applied: verdict.ok,
          errors: verdict.ok ? [] : verdict.errors,
        },
      },
    });
    if (this.acks.size >= MAX_REMEMBERED) this.acks.delete(this.acks.keys().next().value!);
    const answer = { verdict, frame };
    this.acks.set(pushId, answer);
    return answer;
  }

  private validate(wire: RuleSetVersion | undefined): Validation {
    if (!wire) return { ok: false, errors: [ruleErrorToWire({ field: 'ruleSet', code: 'REQUIRED', message: 'the push carried no rule set' })] };
    const key = `${wire.ruleSetId}\u0000${wire.version}\u0000${wire.contentHash}`;
    let result = this.results.get(key);
    if (!result) {
      result = validateOnce(wire);
      this.computed++;
      if (this.results.size >= MAX_REMEMBERED) this.results.delete(this.results.keys().next().value!);
      this.results.set(key, result);
    }
    return result;
  }
}

function validateOnce(wire: RuleSetVersion): Validation {
  const parsed = ruleSetVersionFromWire(wire);
  if (!parsed.ok) return { ok: false, errors: parsed.errors.map(ruleErrorToWire) };
  const v = parsed.value;
  return {
    ok: true,
    applied: {
      ruleSetId: v.ruleSetId,
      version: v.version,
      contentHash: v.contentHash,
      monitoredRuleIds: v.rules.filter((r) => r.enabled && r.activityMonitoring).map((r) => r.id),
    },
  };
}
