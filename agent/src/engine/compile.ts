/**
 * Rule list → compiled rules: every text (addresses, DNS names, MACs, adapters) becomes numbers
 * once, at apply time, and everything that depends on this host (DNS answers, adapters, what the
 * data plane can do, address families) is checked here. The rules arrive already validated by
 * `@portfleet/proto`; this file only knows what the host knows.
 */
import type { FieldError, Rule, Settings } from '@portfleet/proto';
import { parseAddressWords, parseMac } from '../packet/address-text';

/** A `FieldError` of `@portfleet/proto` that always names its rule (index and id). */
export interface EngineFieldError extends FieldError {
  ruleIndex: number;
  ruleId: string;
  code: EngineErrorCode;
}

export type EngineErrorCode =
  | 'UNSUPPORTED_BY_DATAPLANE'
  | 'DNS_UNRESOLVED'
  | 'ADDRESS_FAMILY_MISMATCH'
  | 'UNKNOWN_ADAPTER'
  | 'INVALID_ADDRESS'
  | 'INVALID_MAC'
  | 'INVALID_ENUM';

export interface AdapterInfo {
  name: string;
  index: number;
  macs: string[];
  addresses: string[];
}

export interface DataPlaneCapabilities {
  kind: string;
  /** Frames carry Ethernet headers (MAC select/rewrite). */
  layer2: boolean;
  /** Can send a packet back the way it came (reflection). */
  reflection: boolean;
  /** Can tell and choose adapters (adapter select/rewrite). */
  adapters: boolean;
  /** Can inject emitted copies (clone). */
  clone: boolean;
}

export interface ApplyInput {
  rules: Rule[];
  settings: Settings;
  /** DNS name (as written in the rule) → its addresses in resolver order; filled by the caller. */
  resolved: ReadonlyMap<string, string[]>;
  adapters: AdapterInfo[];
  capabilities: DataPlaneCapabilities;
}

export const Reflection = { None: 0, Mirror: 1, Route: 2 } as const;

export const FAMILY_V4 = 1;
export const FAMILY_V6 = 2;

/** All addresses a selector field matches: IPv4 as one word each, IPv6 as four. */
export class AddressSet {
  constructor(
    readonly v4: Uint32Array,
    readonly v6: Uint32Array,
  ) {}
  get families(): number {
    return (this.v4.length > 0 ? FAMILY_V4 : 0) | (this.v6.length > 0 ? FAMILY_V6 : 0);
  }
}

/** A rule as the packet path uses it. Absent fields are 0 / -1 / null so every rule has one shape. */
export class CompiledRule {
  index = 0;
  id = '';
  outbound = 0;
  protocol = 0;
  /** Families (FAMILY_V4 | FAMILY_V6) this rule can handle. */
  families = 0;
  localPort = 0;
  remotePort = 0;
  localAddress: AddressSet | null = null;
  remoteAddress: AddressSet | null = null;
  localMac: Uint8Array | null = null;
  remoteMac: Uint8Array | null = null;
  adapter = -1;
  // forward as
  toLocalPort = 0;
  toRemotePort = 0;
  /** Per family (index 4 / 6): the four address words to write, or null to keep. */
  toLocalAddress4: Uint32Array | null = null;
  toLocalAddress6: Uint32Array | null = null;
  toRemoteAddress4: Uint32Array | null = null;
  toRemoteAddress6: Uint32Array | null = null;
  toLocalMac: Uint8Array | null = null;
  toRemoteMac: Uint8Array | null = null;
  toAdapter = -1;
  reflection: number = Reflection.None;
  clone = false;
}

export interface CompiledRules {
  rules: CompiledRule[];
  errors: EngineFieldError[];
}

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17 };

export function compileRules(input: ApplyInput): CompiledRules {
  const errors: EngineFieldError[] = [];
  const rules: CompiledRule[] = [];
  input.rules.forEach((rule, index) => {
    const compiled = compileRule(rule, index, input, (field, code, message) =>
      errors.push({ ruleIndex: index, ruleId: rule.id, field, code, message }),
    );
    if (rule.enabled) rules.push(compiled);
  });
  return { rules, errors };
}

type Report = (field: string, code: EngineErrorCode, message: string) => void;

/** Compiles one rule; disabled rules are checked too, so a list never applies with a latent error. */
function compileRule(rule: Rule, index: number, input: ApplyInput, report: Report): CompiledRule {
  const { selector: sel, forwardAs: fwd } = rule;
  const caps = input.capabilities;
  const out = new CompiledRule();
  out.index = index;
  out.id = rule.id;
  out.outbound = sel.direction === 'outbound' ? 1 : 0;
  if (sel.direction !== 'inbound' && sel.direction !== 'outbound') {
    report('selector.direction', 'INVALID_ENUM', `direction must be inbound or outbound, got ${String(sel.direction)}`);
  }
  out.protocol = PROTOCOLS[sel.protocol] ?? 0;
  if (out.protocol === 0) report('selector.protocol', 'INVALID_ENUM', `protocol must be tcp or udp, got ${String(sel.protocol)}`);
  out.localPort = sel.localPort ?? 0;
  out.remotePort = sel.remotePort ?? 0;
  out.toLocalPort = fwd.localPort ?? 0;
  out.toRemotePort = fwd.remotePort ?? 0;

  const need = (field: string, capable: boolean, what: string) => {
    if (!capable) report(field, 'UNSUPPORTED_BY_DATAPLANE', `the ${caps.kind} data plane cannot ${what}`);
  };
  let families = FAMILY_V4 | FAMILY_V6;
  const select = (field: 'localAddress' | 'remoteAddress'): AddressSet | null => {
    const text = sel[field];
    if (text === undefined) return null;
    const set = resolveSet(text, input.resolved, `selector.${field}`, report);
    if (set) families &= set.families;
    return set;
  };
  out.localAddress = select('localAddress');
  out.remoteAddress = select('remoteAddress');
  const rewrite = (field: 'localAddress' | 'remoteAddress'): [Uint32Array | null, Uint32Array | null] => {
    const text = fwd[field];
    if (text === undefined) return [null, null];
    const pair = resolveFirst(text, input.resolved, `forwardAs.${field}`, report);
    if (pair) families &= (pair[0] ? FAMILY_V4 : 0) | (pair[1] ? FAMILY_V6 : 0);
    return pair ?? [null, null];
  };
  [out.toLocalAddress4, out.toLocalAddress6] = rewrite('localAddress');
  [out.toRemoteAddress4, out.toRemoteAddress6] = rewrite('remoteAddress');
  out.families = families;
  const addressFields = [
    sel.localAddress !== undefined && 'selector.localAddress',
    sel.remoteAddress !== undefined && 'selector.remoteAddress',
    fwd.localAddress !== undefined && 'forwardAs.localAddress',
    fwd.remoteAddress !== undefined && 'forwardAs.remoteAddress',
  ].filter((f): f is string => typeof f === 'string');
  if (families === 0 && addressFields.length > 0) {
    report(
      addressFields[addressFields.length - 1]!,
      'ADDRESS_FAMILY_MISMATCH',
      `no address family fits all of ${addressFields.join(', ')}: a packet cannot change between IPv4 and IPv6`,
    );
  }

  const mac = (field: string, text: string | undefined): Uint8Array | null => {
    if (text === undefined) return null;
    need(field, caps.layer2, 'see or write MAC addresses (it works at layer 3)');
    const bytes = parseMac(text);
    if (!bytes) report(field, 'INVALID_MAC', `${JSON.stringify(text)} is not a MAC address`);
    return bytes;
  };
  out.localMac = mac('selector.localMac', sel.localMac);
  out.remoteMac = mac('selector.remoteMac', sel.remoteMac);
  out.toLocalMac = mac('forwardAs.localMac', fwd.localMac);
  out.toRemoteMac = mac('forwardAs.remoteMac', fwd.remoteMac);

  const adapter = (field: string, text: string | undefined): number => {
    if (text === undefined) return -1;
    need(field, caps.adapters, 'select or choose adapters');
    const found = input.adapters.find((a) => a.name === text || String(a.index) === text);
    if (!found) {
      const known = input.adapters.map((a) => `${a.name} (${a.index})`).join(', ') || 'none';
      report(field, 'UNKNOWN_ADAPTER', `this host has no adapter ${JSON.stringify(text)}; it has ${known}`);
      return -1;
    }
    return found.index;
  };
  out.adapter = adapter('selector.adapter', sel.adapter);
  out.toAdapter = adapter('forwardAs.adapter', fwd.adapter);

  const reflection = fwd.reflection ?? 'none';
  out.reflection = reflection === 'mirror' ? Reflection.Mirror : reflection === 'route' ? Reflection.Route : Reflection.None;
  if (reflection !== 'none' && reflection !== 'mirror' && reflection !== 'route') {
    report('forwardAs.reflection', 'INVALID_ENUM', `reflection must be none, mirror or route, got ${String(reflection)}`);
  }
  if (out.reflection !== Reflection.None) need('forwardAs.reflection', caps.reflection, 'reflect packets');
  out.clone = fwd.clone === true;
  if (out.clone) need('forwardAs.clone', caps.clone, 'inject cloned packets');
  return out;
}

function addressesOf(text: string, resolved: ReadonlyMap<string, string[]>, field: string, report: Report): string[] | null {
  if (parseAddressWords(text)) return [text];
  const answer = resolved.get(text) ?? resolved.get(text.toLowerCase().replace(/\.$/, ''));
  if (!answer || answer.length === 0) {
    report(field, 'DNS_UNRESOLVED', `the name ${JSON.stringify(text)} did not resolve to any address`);
    return null;
  }
  return answer;
}

/** Every address of a literal or name (selector semantics: all A and AAAA records match). */
function resolveSet(text: string, resolved: ReadonlyMap<string, string[]>, field: string, report: Report): AddressSet | null {
  const texts = addressesOf(text, resolved, field, report);
  if (!texts) return null;
  const v4: number[] = [];
  const v6: number[] = [];
  for (const t of texts) {
    const a = parseAddressWords(t);
    if (!a) {
      report(field, 'INVALID_ADDRESS', `${JSON.stringify(text)} resolved to ${JSON.stringify(t)}, which is not an IP address`);
      return null;
    }
    if (a.family === 4) v4.push(a.words[0]!);
    else v6.push(...a.words);
  }
  return new AddressSet(Uint32Array.from(v4), Uint32Array.from(v6));
}

/**
 * Forward-as semantics: the first address in resolver order, per family, so a name with A and
 * AAAA records rewrites IPv4 packets to its first A and IPv6 packets to its first AAAA address.
 */
function resolveFirst(
  text: string,
  resolved: ReadonlyMap<string, string[]>,
  field: string,
  report: Report,
): [Uint32Array | null, Uint32Array | null] | null {
  const texts = addressesOf(text, resolved, field, report);
  if (!texts) return null;
  let v4: Uint32Array | null = null;
  let v6: Uint32Array | null = null;
  for (const t of texts) {
    const a = parseAddressWords(t);
    if (!a) {
      report(field, 'INVALID_ADDRESS', `${JSON.stringify(text)} resolved to ${JSON.stringify(t)}, which is not an IP address`);
      return null;
    }
    if (a.family === 4) v4 ??= a.words;
    else v6 ??= a.words;
  }
  return [v4, v6];
}
