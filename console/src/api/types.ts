/** Shapes of the controller's HTTP API (docs/http-api.md) as the console reads them. */
import type { Rule, Settings } from '@portfleet/proto';

export type { Direction, ForwardAs, Protocol, Reflection, Rule, Selector, Settings } from '@portfleet/proto';

export type Role = 'admin' | 'operator' | 'viewer';

export interface User {
  username: string;
  role: Role;
}

export interface Session {
  user: User;
  csrfToken: string;
}

export interface Adapter {
  name: string;
  index: number;
  macs: string[];
  addresses: string[];
}

export interface Agent {
  id: string;
  name: string;
  hostname: string;
  platform: string;
  version: string;
  online: boolean;
  lastSeenAt: string | null;
  adapters: Adapter[];
  appliedRuleSetId: string | null;
  appliedVersion: number | null;
  appliedContentHash: string | null;
  desiredRuleSetId: string | null;
  desiredVersion: number | null;
  groups: string[];
  labels: string[];
}

export interface EnrollmentToken {
  token: string;
  expiresAt: string;
  command: string;
}

/** A problem with one rule: validation failures, agent rejections and shadowing warnings. */
export interface RuleError {
  ruleIndex: number;
  ruleId: string;
  field: string;
  code: string;
  message: string;
}

export interface RuleSetSummary {
  id: string;
  name: string;
  latestVersion: number;
}

export interface RuleSet {
  id: string;
  name: string;
  version: number;
  rules: Rule[];
  settings: Settings;
  contentHash: string;
  createdAt: string;
  warnings: RuleError[];
}

/** A rule as sent to the controller, which assigns the id. */
export type NewRule = Omit<Rule, 'id'>;

export type PushState = 'pending' | 'delivered' | 'applied' | 'failed';

export interface PushTarget {
  agentId: string;
  state: PushState;
  errors: RuleError[];
  updatedAt: string;
}

export interface Push {
  id: string;
  ruleSetId: string;
  version: number;
  createdAt: string;
  targets: PushTarget[];
}

export interface ActivityTotal {
  agentId: string;
  ruleId: string;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  conversations: number;
  lastHitAt: string | null;
}
