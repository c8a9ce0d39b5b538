/**
 * The one validation of rules and settings, used by the controller (HTTP, gRPC, import) and the
 * agent (every pushed rule set). Hand-written rather than a schema library so that every problem
 * gets its own code and field path, all problems are reported at once, and nothing ever throws.
 */
import { classifyAddress, normalizeMac } from './address';
import { canonicalRule } from './canonical-rule';
import { fieldError, fieldPath, type FieldError, type Parsed } from './field-error';
import { isRecord, ownField as own } from './json-object';
import {
  DEFAULT_SETTINGS,
  type Direction,
  type ForwardAs,
  type Protocol,
  type Reflection,
  type Rule,
  type RuleInput,
  type Selector,
  type Settings,
} from './model';

export type { ErrorCode, FieldError, Parsed } from './field-error';

export const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound'];
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp'];
export const REFLECTIONS: readonly Reflection[] = ['none', 'mirror', 'route'];
export const MAX_TEXT_LENGTH = 256;
export const MAX_ID_LENGTH = 128;
export const SETTINGS_LIMITS = {
  applyDelayMs: { min: 0, max: 3_600_000 },
  tcpTimeoutS: { min: 1, max: 86_400 },
  udpTimeoutS: { min: 1, max: 86_400 },
} as const;

const RULE_KEYS = ['id', 'enabled', 'description', 'activityMonitoring', 'selector', 'forwardAs'];
const SELECTOR_KEYS = ['direction', 'protocol', 'localPort', 'remotePort', 'localAddress', 'remoteAddress', 'localMac', 'remoteMac', 'adapter'];
const FORWARD_KEYS = ['localPort', 'remotePort', 'localAddress', 'remoteAddress', 'localMac', 'remoteMac', 'adapter', 'reflection', 'clone'];
const SETTINGS_KEYS = Object.keys(SETTINGS_LIMITS) as (keyof Settings)[];

/** A rule from the HTTP API or a file. Field paths are relative to the rule. */
export function parseRuleInput(input: unknown): Parsed<RuleInput> {
  const errors: FieldError[] = [];
  const rule = readRule(input, errors);
  return rule && errors.length === 0 ? { ok: true, value: canonicalRule(rule) } : { ok: false, errors };
}

export interface RuleListOptions {
  /** Gives rules without an id one (imports); without it a missing id is an error. */
  assignId?: () => string;
}

/** An ordered rule list. Errors carry the rule's index and (when it has one) id. */
export function parseRuleList(input: unknown, options: RuleListOptions = {}): Parsed<Rule[]> {
  if (!Array.isArray(input)) return { ok: false, errors: [fieldError('', 'INVALID_TYPE', 'must be an array of rules')] };
  const errors: FieldError[] = [];
  const rules: Rule[] = [];
  const firstIndexOfId = new Map<string, number>();
  input.forEach((item: unknown, ruleIndex) => {
    const rawId = isRecord(item) && typeof own(item, 'id') === 'string' ? (own(item, 'id') as string) : undefined;
    const tag = (e: FieldError): FieldError => ({ ...e, ruleIndex, ...(rawId !== undefined && { ruleId: rawId }) });
    const parsed = parseRuleInput(item);
    if (!parsed.ok) {
      errors.push(...parsed.errors.map(tag));
      return;
    }
    const id = parsed.value.id ?? options.assignId?.();
    if (id === undefined) {
      errors.push(tag(fieldError('id', 'REQUIRED', 'is required')));
      return;
    }
    const first = firstIndexOfId.get(id);
    if (first !== undefined) {
      errors.push(tag(fieldError('id', 'DUPLICATE_ID', `repeats the id of rule ${first}`)));
      return;
    }
    firstIndexOfId.set(id, ruleIndex);
    rules.push({ ...parsed.value, id });
  });
  return errors.length === 0 ? { ok: true, value: rules } : { ok: false, errors };
}

/** Host-wide settings; missing fields take their defaults. Field paths are relative to settings. */
export function parseSettings(input: unknown): Parsed<Settings> {
  const errors: FieldError[] = [];
  const obj = readObject(input ?? {}, '', errors, true);
  if (!obj) return { ok: false, errors };
  rejectUnknown(obj, SETTINGS_KEYS, '', errors);
  const settings = { ...DEFAULT_SETTINGS };
  for (const key of SETTINGS_KEYS) {
    const value = own(obj, key);
    if (value === undefined || value === null) continue;
    const { min, max } = SETTINGS_LIMITS[key];
    if (typeof value !== 'number') errors.push(fieldError(key, 'INVALID_TYPE', `must be an integer ${min}-${max}`));
    else if (!Number.isInteger(value) || value < min || value > max)
      errors.push(fieldError(key, 'OUT_OF_RANGE', `must be an integer ${min}-${max}`));
    else settings[key] = value;
  }
  return errors.length === 0 ? { ok: true, value: settings } : { ok: false, errors };
}

/** Errors as one line each, e.g. for logs and CLI output. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors
    .map((e) => `${e.ruleIndex !== undefined ? `rule ${e.ruleIndex}: ` : ''}${e.field || '(whole)'}: ${e.message} [${e.code}]`)
    .join('\n');
}

function readRule(input: unknown, errors: FieldError[]): RuleInput | undefined {
  const obj = readObject(input, '', errors, true);
  if (!obj) return undefined;
  rejectUnknown(obj, RULE_KEYS, '', errors);
  const id = readId(obj, errors);
  const enabled = readBoolean(obj, 'enabled', '', errors) ?? true;
  const description = readText(obj, 'description', '', errors, { allowEmpty: true }) ?? '';
  const activityMonitoring = readBoolean(obj, 'activityMonitoring', '', errors) ?? true;
  const selector = readSelector(own(obj, 'selector'), errors);
  const forwardAs = readForwardAs(own(obj, 'forwardAs'), errors);
  if (!selector || !forwardAs) return undefined;
  checkAddressFamilies(selector, forwardAs, errors);
  return { ...(id !== undefined && { id }), enabled, description, activityMonitoring, selector, forwardAs };
}

function readId(obj: Record<string, unknown>, errors: FieldError[]): string | undefined {
  const value = own(obj, 'id');
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') errors.push(fieldError('id', 'INVALID_TYPE', 'must be a string'));
  else if (value.length === 0) errors.push(fieldError('id', 'INVALID_ID', 'must not be empty'));
  else if (value.length > MAX_ID_LENGTH) errors.push(fieldError('id', 'TOO_LONG', `must be at most ${MAX_ID_LENGTH} characters`));
  else return value;
  return undefined;
}

function readSelector(input: unknown, errors: FieldError[]): Selector | undefined {
  const obj = readObject(input, 'selector', errors, true);
  if (!obj) return undefined;
  rejectUnknown(obj, SELECTOR_KEYS, 'selector', errors);
  const direction = readEnum(obj, 'direction', 'selector', DIRECTIONS, errors, true);
  const protocol = readEnum(obj, 'protocol', 'selector', PROTOCOLS, errors, true);
  const rest = readEndpoints(obj, 'selector', errors);
  if (!direction || !protocol) return undefined;
  return { direction, protocol, ...rest };
}

function readForwardAs(input: unknown, errors: FieldError[]): ForwardAs | undefined {
  const obj = readObject(input ?? {}, 'forwardAs', errors, true);
  if (!obj) return undefined;
  rejectUnknown(obj, FORWARD_KEYS, 'forwardAs', errors);
  const endpoints = readEndpoints(obj, 'forwardAs', errors);
  const reflection = readEnum(obj, 'reflection', 'forwardAs', REFLECTIONS, errors, false);
  const clone = readBoolean(obj, 'clone', 'forwardAs', errors);
  return { ...endpoints, ...(reflection !== undefined && { reflection }), ...(clone !== undefined && { clone }) };
}

/** Ports, addresses, MACs and adapter: the fields selector and forward-as share. */
function readEndpoints(obj: Record<string, unknown>, prefix: string, errors: FieldError[]) {
  const out: Omit<Selector, 'direction' | 'protocol'> = {};
  for (const key of ['localPort', 'remotePort'] as const) {
    const port = readPort(obj, key, prefix, errors);
    if (port !== undefined) out[key] = port;
  }
  for (const key of ['localAddress', 'remoteAddress'] as const) {
    const address = readAddress(obj, key, prefix, errors);
    if (address !== undefined) out[key] = address;
  }
  for (const key of ['localMac', 'remoteMac'] as const) {
    const mac = readMac(obj, key, prefix, errors);
    if (mac !== undefined) out[key] = mac;
  }
  const adapter = readText(obj, 'adapter', prefix, errors, { allowEmpty: false });
  if (adapter !== undefined) out.adapter = adapter;
  return out;
}

/**
 * One packet has one IP version: literal addresses of both families in one rule can never be
 * honoured (a selector that could not match, or a rewrite that would need NAT64). DNS names are
 * checked when the agent resolves them.
 */
function checkAddressFamilies(selector: Selector, forwardAs: ForwardAs, errors: FieldError[]): void {
  const literals = [
    ['selector.localAddress', selector.localAddress],
    ['selector.remoteAddress', selector.remoteAddress],
    ['forwardAs.localAddress', forwardAs.localAddress],
    ['forwardAs.remoteAddress', forwardAs.remoteAddress],
  ] as const;
  let first: { field: string; kind: 'ipv4' | 'ipv6' } | undefined;
  for (const [field, value] of literals) {
    if (value === undefined) continue;
    const kind = classifyAddress(value);
    if (kind !== 'ipv4' && kind !== 'ipv6') continue;
    if (!first) first = { field, kind };
    else if (kind !== first.kind)
      errors.push(
        fieldError(field, 'ADDRESS_FAMILY_MISMATCH', `is an ${familyName(kind)} address but ${first.field} is ${familyName(first.kind)}; one packet cannot be both`),
      );
  }
}

function familyName(kind: 'ipv4' | 'ipv6'): string {
  return kind === 'ipv4' ? 'IPv4' : 'IPv6';
}

function readObject(input: unknown, field: string, errors: FieldError[], required: boolean): Record<string, unknown> | undefined {
  if (input === undefined || input === null) {
    if (required) errors.push(fieldError(field, 'REQUIRED', 'is required'));
    return undefined;
  }
  if (!isRecord(input)) {
    errors.push(fieldError(field, 'INVALID_TYPE', 'must be an object'));
    return undefined;
  }
  return input;
}

function rejectUnknown(obj: Record<string, unknown>, known: readonly string[], prefix: string, errors: FieldError[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) errors.push(fieldError(fieldPath(prefix, key), 'UNKNOWN_FIELD', `is not a field here (known: ${known.join(', ')})`));
  }
}

function readBoolean(obj: Record<string, unknown>, key: string, prefix: string, errors: FieldError[]): boolean | undefined {
  const value = own(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  errors.push(fieldError(fieldPath(prefix, key), 'INVALID_TYPE', 'must be true or false'));
  return undefined;
}

function readEnum<T extends string>(
  obj: Record<string, unknown>,
  key: string,
  prefix: string,
  values: readonly T[],
  errors: FieldError[],
  required: boolean,
): T | undefined {
  const value = own(obj, key);
  const field = fieldPath(prefix, key);
  if (value === undefined || value === null) {
    if (required) errors.push(fieldError(field, 'REQUIRED', `is required (one of ${values.join(', ')})`));
    return undefined;
  }
  if (values.includes(value as T)) return value as T;
  errors.push(fieldError(field, 'INVALID_ENUM', `must be one of ${values.join(', ')}`));
  return undefined;
}

function readPort(obj: Record<string, unknown>, key: string, prefix: string, errors: FieldError[]): number | undefined {
  const value = own(obj, key);
  if (value === undefined || value === null) return undefined;
  const field = fieldPath(prefix, key);
  if (typeof value !== 'number') errors.push(fieldError(field, 'INVALID_TYPE', 'must be a number (an integer 1-65535)'));
  else if (!Number.isInteger(value) || value < 1 || value > 65535) errors.push(fieldError(field, 'INVALID_PORT', 'must be an integer 1-65535'));
  else return value;
  return undefined;
}

function readAddress(obj: Record<string, unknown>, key: string, prefix: string, errors: FieldError[]): string | undefined {
  const value = own(obj, key);
  if (value === undefined || value === null) return undefined;
  const field = fieldPath(prefix, key);
  if (typeof value !== 'string') errors.push(fieldError(field, 'INVALID_TYPE', 'must be a string'));
  else if (classifyAddress(value) === 'invalid') errors.push(fieldError(field, 'INVALID_ADDRESS', 'must be an IPv4 address, an IPv6 address or a DNS name'));
  else return value;
  return undefined;
}

function readMac(obj: Record<string, unknown>, key: string, prefix: string, errors: FieldError[]): string | undefined {
  const value = own(obj, key);
  if (value === undefined || value === null) return undefined;
  const field = fieldPath(prefix, key);
  if (typeof value !== 'string') {
    errors.push(fieldError(field, 'INVALID_TYPE', 'must be a string'));
    return undefined;
  }
  const mac = normalizeMac(value);
  if (mac === null) errors.push(fieldError(field, 'INVALID_MAC', 'must be a MAC address like aa:bb:cc:dd:ee:ff'));
  return mac ?? undefined;
}

function readText(
  obj: Record<string, unknown>,
  key: 'description' | 'adapter',
  prefix: string,
  errors: FieldError[],
  { allowEmpty }: { allowEmpty: boolean },
): string | undefined {
  const value = own(obj, key);
  if (value === undefined || value === null) return undefined;
  const field = fieldPath(prefix, key);
  if (typeof value !== 'string') errors.push(fieldError(field, 'INVALID_TYPE', 'must be a string'));
  else if (!allowEmpty && value.length === 0) errors.push(fieldError(field, 'INVALID_ADAPTER', 'must name an adapter (not empty)'));
  else if (value.length > MAX_TEXT_LENGTH) errors.push(fieldError(field, 'TOO_LONG', `must be at most ${MAX_TEXT_LENGTH} characters`));
  else return value;
  return undefined;
}
