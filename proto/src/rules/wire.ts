/**
 * Mapping between the domain model and the protobuf messages. Incoming messages are turned into
 * plain objects and validated by `validate.ts` like any other input: the wire is not trusted.
 */
import * as pb from '../gen/portfleet/v1/rules';
import { canonicalSettings } from './canonical-rule';
import { fieldError, type FieldError, type Parsed } from './field-error';
import { contentHash } from './hash';
import type { Direction, Protocol, Reflection, Rule, RuleSetVersion, Settings } from './model';
import { parseRuleList, parseSettings } from './validate';

const DIRECTION_TO_WIRE: Record<Direction, pb.Direction> = {
  inbound: pb.Direction.DIRECTION_INBOUND,
  outbound: pb.Direction.DIRECTION_OUTBOUND,
};
const PROTOCOL_TO_WIRE: Record<Protocol, pb.Protocol> = {
  tcp: pb.Protocol.PROTOCOL_TCP,
  udp: pb.Protocol.PROTOCOL_UDP,
};
const REFLECTION_TO_WIRE: Record<Reflection, pb.Reflection> = {
  none: pb.Reflection.REFLECTION_UNSPECIFIED,
  mirror: pb.Reflection.REFLECTION_MIRROR,
  route: pb.Reflection.REFLECTION_ROUTE,
};

export function ruleToWire(rule: Rule): pb.Rule {
  const s = rule.selector;
  const f = rule.forwardAs;
  return {
    id: rule.id,
    enabled: rule.enabled,
    description: rule.description ?? '',
    activityMonitoring: rule.activityMonitoring,
    selector: {
      direction: DIRECTION_TO_WIRE[s.direction],
      protocol: PROTOCOL_TO_WIRE[s.protocol],
      localPort: s.localPort,
      remotePort: s.remotePort,
      localAddress: s.localAddress,
      remoteAddress: s.remoteAddress,
      localMac: s.localMac,
      remoteMac: s.remoteMac,
      adapter: s.adapter,
    },
    forwardAs: {
      localPort: f.localPort,
      remotePort: f.remotePort,
      localAddress: f.localAddress,
      remoteAddress: f.remoteAddress,
      localMac: f.localMac,
      remoteMac: f.remoteMac,
      adapter: f.adapter,
      reflection: REFLECTION_TO_WIRE[f.reflection ?? 'none'],
      clone: f.clone ?? false,
    },
  };
}

/**
 * A plain object for `parseRuleInput`/`parseRuleList`. Unspecified direction/protocol become
 * undefined (so validation reports REQUIRED); numbers this build does not know stay numbers (so
 * it reports INVALID_ENUM).
 */
export function ruleFromWire(r: pb.Rule): unknown {
  const s = r.selector;
  const f = r.forwardAs;
  return defined({
    id: r.id === '' ? undefined : r.id,
    enabled: r.enabled,
    description: r.description,
    activityMonitoring: r.activityMonitoring,
    selector: s && defined({
      direction: enumFromWire(s.direction, DIRECTION_TO_WIRE),
      protocol: enumFromWire(s.protocol, PROTOCOL_TO_WIRE),
      localPort: s.localPort,
      remotePort: s.remotePort,
      localAddress: s.localAddress,
      remoteAddress: s.remoteAddress,
      localMac: s.localMac,
      remoteMac: s.remoteMac,
      adapter: s.adapter,
    }),
    forwardAs: f && defined({
      localPort: f.localPort,
      remotePort: f.remotePort,
      localAddress: f.localAddress,
      remoteAddress: f.remoteAddress,
      localMac: f.localMac,
      remoteMac: f.remoteMac,
      adapter: f.adapter,
      reflection: enumFromWire(f.reflection, REFLECTION_TO_WIRE),
      clone: f.clone ? true : undefined,
    }),
  });
}

export function settingsToWire(settings: Settings): pb.Settings {
  return canonicalSettings(settings);
}

/** A plain object for `parseSettings`; a missing message means defaults. */
export function settingsFromWire(settings: pb.Settings | undefined): unknown {
  return settings && { applyDelayMs: settings.applyDelayMs, tcpTimeoutS: settings.tcpTimeoutS, udpTimeoutS: settings.udpTimeoutS };
}

export function ruleSetVersionToWire(v: RuleSetVersion): pb.RuleSetVersion {
  return {
    ruleSetId: v.ruleSetId,
    version: v.version,
    rules: v.rules.map(ruleToWire),
    settings: settingsToWire(v.settings),
    contentHash: v.contentHash,
  };
}

/**
 * Validates a received rule set version completely: every rule (errors carry index and id),
 * the settings (fields `settings.*`), and the content hash against the content.
 */
export function ruleSetVersionFromWire(v: pb.RuleSetVersion): Parsed<RuleSetVersion> {
  const errors: FieldError[] = [];
  if (v.ruleSetId === '') errors.push(fieldError('ruleSetId', 'REQUIRED', 'is required'));
  if (!Number.isInteger(v.version) || v.version < 1) errors.push(fieldError('version', 'OUT_OF_RANGE', 'must be an integer ≥ 1'));
  const rules = parseRuleList(v.rules.map(ruleFromWire));
  if (!rules.ok) errors.push(...rules.errors);
  const settings = parseSettings(settingsFromWire(v.settings));
  if (!settings.ok) errors.push(...settings.errors.map((e) => ({ ...e, field: `settings.${e.field}` })));
  if (!rules.ok || !settings.ok) return { ok: false, errors };
  const hash = contentHash(rules.value, settings.value);
  if (hash !== v.contentHash) errors.push(fieldError('contentHash', 'HASH_MISMATCH', `does not match the content (expected ${hash})`));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { ruleSetId: v.ruleSetId, version: v.version, rules: rules.value, settings: settings.value, contentHash: hash } };
}

/** A list-wide error (no rule) travels with rule_index -1. */
export function ruleErrorToWire(e: FieldError): pb.RuleError {
  return { ruleIndex: e.ruleIndex ?? -1, ruleId: e.ruleId ?? '', field: e.field, code: e.code, message: e.message };
}

export function ruleErrorFromWire(e: pb.RuleError): FieldError {
  return {
    field: e.field,
    code: e.code,
    message: e.message,
    ...(e.ruleIndex >= 0 && { ruleIndex: e.ruleIndex }),
    ...(e.ruleId !== '' && { ruleId: e.ruleId }),
  };
}

function enumFromWire<T extends string>(value: number, toWire: Record<T, number>): T | number | undefined {
  if (value === 0) return undefined; // *_UNSPECIFIED
  const entry = Object.entries(toWire).find(([, wire]) => wire === value);
  return entry ? (entry[0] as T) : value;
}

function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
