import { checkEdition, isEdition, verifyCapabilities, type Edition, type FieldError, type Rule } from '@portfleet/proto';
import type { CapabilitySnapshot } from '@portfleet/proto/gen/rules';

export interface EditionContext {
  agentId: string;
  /** PEM of the controller's signing key, when it was given at enrollment. */
  controllerPublicKey?: string;
  nowMs?: number;
}

/**
 * The edition a capability snapshot grants. With the controller's public key the signature,
 * expiry and agent id are checked; without it the edition is still read (and enforced), but its
 * authenticity cannot be proven. No snapshot: no edition (the controller enforces alone).
 * Errors name `capabilities.<field>`.
 */
export function snapshotEdition(snapshot: CapabilitySnapshot | undefined, context: EditionContext): { edition?: Edition; errors: FieldError[] } {
  if (!snapshot || snapshot.payload.length === 0) return { errors: [] };
  const fail = (errors: FieldError[]) => ({ errors: errors.map((e) => ({ ...e, field: e.field ? `capabilities.${e.field}` : 'capabilities' })) });

  let edition: unknown;
  if (context.controllerPublicKey) {
    const verified = verifyCapabilities(snapshot, context.controllerPublicKey, context.nowMs);
    if (!verified.ok) return fail(verified.errors);
    if (verified.value.agentId !== context.agentId) {
      return fail([{ field: 'agentId', code: 'INVALID_SIGNATURE', message: `was issued to agent ${verified.value.agentId}, not to this agent` }]);
    }
    edition = verified.value.edition;
  } else {
    try {
      edition = (JSON.parse(Buffer.from(snapshot.payload).toString('utf8')) as { edition?: unknown }).edition;
    } catch {
      return fail([{ field: 'payload', code: 'INVALID_TYPE', message: 'is not JSON' }]);
    }
  }
  if (!isEdition(edition)) return fail([{ field: 'edition', code: 'INVALID_ENUM', message: `names no known edition (${String(edition)})` }]);
  return { edition, errors: [] };
}

/** The agent's own enforcement of its edition on a rule list (SPEC §3: "again by the agent"). */
export function checkCapabilities(snapshot: CapabilitySnapshot | undefined, rules: readonly Rule[], context: EditionContext): FieldError[] {
  const { edition, errors } = snapshotEdition(snapshot, context);
  if (errors.length > 0 || !edition) return errors;
  return checkEdition(edition, rules);
}
