import { ApplyRuleSet } from '@portfleet/proto/gen/agent';
import { CapabilitySnapshot } from '@portfleet/proto/gen/rules';
import type { RuleSetVersion } from '@portfleet/proto/gen/rules';
import { varintSize, writeVarint } from '@portfleet/proto';

/** ControllerMessage field 2 (`apply`) and ApplyRuleSet field 3 (`capabilities`), both length-delimited. */
const APPLY_TAG = (2 << 3) | 2;
const CAPABILITIES_TAG = (3 << 3) | 2;

/** A CapabilitySnapshot's protobuf bytes (signed once per agent, sent with every push). */
export function encodeSnapshot(snapshot: CapabilitySnapshot): Uint8Array {
  return CapabilitySnapshot.encode(snapshot).finish();
}

/**
 * One push's ApplyRuleSet as encoded ControllerMessage bytes for each agent. The push id and the
 * rule set are the same for every agent and are encoded once; per agent only its (already
 * encoded) capability snapshot is appended as field 3 — protobuf fields may come in any order,
 * so the bytes decode exactly as `{ apply: { pushId, ruleSet, capabilities } }` encoded whole.
 */
export class ApplyMessages {
  private readonly head: Uint8Array;

  constructor(pushId: string, ruleSet: RuleSetVersion) {
    this.head = ApplyRuleSet.encode({ pushId, ruleSet, capabilities: undefined }).finish();
  }

  for(snapshot: Uint8Array): Buffer {
    const body = this.head.length + 1 + varintSize(snapshot.length) + snapshot.length;
    const out = Buffer.allocUnsafe(1 + varintSize(body) + body);
    let at = 0;
    out[at++] = APPLY_TAG;
    at = writeVarint(out, at, body);
    out.set(this.head, at);
    at += this.head.length;
    out[at++] = CAPABILITIES_TAG;
    at = writeVarint(out, at, snapshot.length);
    out.set(snapshot, at);
    return out;
  }
}
