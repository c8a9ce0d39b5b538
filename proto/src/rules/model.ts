/**
 * The rule model every side shares (SPEC §1). This is the JSON shape used by the HTTP API, the
 * rules file format and the engine; `wire.ts` maps it to and from the protobuf messages.
 */
export type Direction = 'inbound' | 'outbound';
export type Protocol = 'tcp' | 'udp';
export type Reflection = 'none' | 'mirror' | 'route';

/** Every field optional except direction and protocol; all given fields must match. */
export interface Selector {
  direction: Direction;
  protocol: Protocol;
  localPort?: number;
  remotePort?: number;
  /** IPv4, IPv6 or DNS name (all A/AAAA addresses match; resolved at apply time). */
  localAddress?: string;
  remoteAddress?: string;
  /** MAC address, `aa:bb:cc:dd:ee:ff` (also accepts `-` separators). */
  localMac?: string;
  remoteMac?: string;
  /** Adapter name or interface index (as a decimal string) as the agent reports them. */
  adapter?: string;
}

export interface ForwardAs {
  localPort?: number;
  remotePort?: number;
  /** IPv4, IPv6 or DNS name (first address, resolved at apply time). */
  localAddress?: string;
  remoteAddress?: string;
  localMac?: string;
  remoteMac?: string;
  adapter?: string;
  reflection?: Reflection;
  clone?: boolean;
}

export interface Rule {
  /** Stable id assigned by the controller; activity is reported per rule id. */
  id: string;
  enabled: boolean;
  description?: string;
  activityMonitoring: boolean;
  selector: Selector;
  forwardAs: ForwardAs;
}

/** Host-wide settings that travel with a rule set. */
export interface Settings {
  /** Rules take effect this long after they are received (SPEC §1 Applying). */
  applyDelayMs: number;
  /** Inactivity timeouts of conversation channels. */
  tcpTimeoutS: number;
  udpTimeoutS: number;
}

export const DEFAULT_SETTINGS: Settings = { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 };

/** An immutable version of a rule set as pushed to agents. */
export interface RuleSetVersion {
  ruleSetId: string;
  version: number;
  rules: Rule[];
  settings: Settings;
  /** sha256 over the canonical JSON of rules + settings; agents ack it. */
  contentHash: string;
}

/** A rule before the controller has given it an id (HTTP create, an imported file). */
export type RuleInput = Omit<Rule, 'id'> & { id?: string };
