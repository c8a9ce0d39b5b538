import { checkEdition, isEdition, verifyCapabilities, type FieldError, type Rule } from '@portfleet/proto';
import type { CapabilitySnapshot } from '@portfleet/proto/gen/rules';

/**
 * The agent's own enforcement of its edition (SPEC §3: "again by the agent"), from the signed
 * capability snapshot that travels with every rule set. With the controller's public key (stored
 * at enrollment) the signature, expiry and agent id are checked; without it the snapshot's edition
 * is still enforced, but its authenticity cannot be proven. Errors name `capabilities.<field>`.
 */
export function checkCapabilities(
  snapshot: CapabilitySnapshot | undefined,
  rules: readonly Rule[],
  context: { agentId: string; controllerPublicKey?: string; nowMs?: number },
): FieldError[] {
  if (!snapshot || snapshot.payload.length === 0) return [];
  const prefixed = (errors: FieldError[]) => errors.map((e) => ({ ...e, field: e.field ? `capabilities.${e.field}` : 'capabilities' }));

  let edition: unknown;
  if (context.controllerPublicKey) {
    const verified = verifyCapabilities(snapshot, context.controllerPublicKey, context.nowMs);
    if (!verified.ok) return prefixed(verified.errors);
    if (verified.value.agentId !== context.agentId) {
      return prefixed([{ field: 'agentId', code: 'INVALID_SIGNATURE', message: `was issued to agent ${verified.value.agentId}, not to this agent` }]);
    }
    edition = verified.value.edition;
  } else {
    try {
      edition = (JSON.parse(Buffer.from(snapshot.payload).toString('utf8')) as { edition?: unknown }).edition;
    } catch {
      return prefixed([{ field: 'payload', code: 'INVALID_TYPE', message: 'is not JSON' }]);
    }
  }
  if (!isEdition(edition)) return prefixed([{ field: 'edition', code: 'INVALID_ENUM', message: `names no known edition (${String(edition)})` }]);
  return checkEdition(edition, rules);
}
