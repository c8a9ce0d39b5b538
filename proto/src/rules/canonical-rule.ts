import { normalizeMac } from './address';
import type { ForwardAs, RuleInput, Selector, Settings } from './model';

/**
 * The one form of a rule that hashing, storage and the wire agree on: no unset keys, an empty
 * description instead of none, and no fields that only restate the default (reflection `none`,
 * clone `false`), so the same rule has the same content hash however it was written.
 */
export function canonicalRule<T extends RuleInput>(rule: T): T {
  const out: Record<string, unknown> = {};
  if (rule.id !== undefined) out.id = rule.id;
  out.enabled = rule.enabled;
  out.description = rule.description ?? '';
  out.activityMonitoring = rule.activityMonitoring;
  out.selector = canonicalSelector(rule.selector);
  out.forwardAs = canonicalForwardAs(rule.forwardAs ?? {});
  return out as T;
}

function canonicalSelector(s: Selector): Selector {
  return withoutUnset({
    direction: s.direction,
    protocol: s.protocol,
    localPort: s.localPort,
    remotePort: s.remotePort,
    localAddress: s.localAddress,
    remoteAddress: s.remoteAddress,
    localMac: mac(s.localMac),
    remoteMac: mac(s.remoteMac),
    adapter: s.adapter,
  });
}

function canonicalForwardAs(f: ForwardAs): ForwardAs {
  return withoutUnset({
    localPort: f.localPort,
    remotePort: f.remotePort,
    localAddress: f.localAddress,
    remoteAddress: f.remoteAddress,
    localMac: mac(f.localMac),
    remoteMac: mac(f.remoteMac),
    adapter: f.adapter,
    reflection: f.reflection === 'none' ? undefined : f.reflection,
    clone: f.clone === true ? true : undefined,
  });
}

export function canonicalSettings(s: Settings): Settings {
  return { applyDelayMs: s.applyDelayMs, tcpTimeoutS: s.tcpTimeoutS, udpTimeoutS: s.udpTimeoutS };
}

function mac(value: string | undefined): string | undefined {
  return value === undefined ? undefined : (normalizeMac(value) ?? value);
}

/** Null counts as "not set" too, as it does in validation (a JSON column may hand back nulls). */
function withoutUnset<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;
}
