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
  /** `key=value` or plain tags, as the controller stores them. */
  labels: string[];
  /** The edition the agent runs under (its own license or the controller's). */
  /** The edition the agent's seat grants; null when it holds no seat (unlicensed). */
  edition: Edition | null;
  drift?: boolean;
  createdAt?: string;
  retiredAt?: string | null;
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

export type PushState = 'waiting' | 'pending' | 'delivered' | 'applied' | 'failed' | 'superseded' | 'cancelled';

export interface PushTarget {
  agentId: string;
  state: PushState;
  wave?: number;
  errors: RuleError[];
  updatedAt: string;
}

export interface Push extends PushSummary {
  targets: PushTarget[];
}

/** A target joined with what the push page shows of its agent (`GET /api/pushes/:id/targets`). */
export interface PushTargetRow {
  agentId: string;
  name: string;
  hostname: string;
  online: boolean;
  retired: boolean;
  state: PushState;
  wave: number;
  errors: RuleError[];
  updatedAt: string;
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

export type Edition = 'trial' | 'basic' | 'pro' | 'ultimate';

export interface EditionLimits {
  maxRules: number;
  descriptions: boolean;
  ipAddresses: boolean;
  macAddresses: boolean;
  adapters: boolean;
  cloneAndReflection: boolean;
  importExport: boolean;
  watermark: boolean;
  durationDays: number | null;
  priceUsd: number | null;
}

/** `GET /api/license`. */
export interface License {
  status: 'trial' | 'licensed' | 'expired';
  edition: Edition | null;
  serial: string | null;
  issuedTo: string | null;
  seats: number | null;
  seatsUsed: number;
  issuedAt: string | null;
  expiresAt: string | null;
  trialStartedAt: string | null;
  trialEndsAt: string | null;
  trialDaysLeft: number | null;
  watermark: boolean;
  limits: EditionLimits | null;
  editions: Record<Edition, EditionLimits>;
}

export interface ConsoleUser {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
}

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  owner?: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedApiToken {
  id: string;
  token: string;
  prefix: string;
  name: string;
  scopes: string[];
  expiresAt: string | null;
}

export interface AuditEntry {
  id: string;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  createdAt: string;
}

export interface RuleSetVersionSummary {
  version: number;
  contentHash: string;
  ruleCount: number;
  createdAt: string;
  createdBy: string | null;
}

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface RuleSetDiff {
  ruleSetId: string;
  from: number;
  to: number;
  added: { index: number; rule: Rule }[];
  removed: { index: number; rule: Rule }[];
  changed: { ruleId: string; fromIndex: number; toIndex: number; changes: FieldChange[] }[];
  moved: { ruleId: string; fromIndex: number; toIndex: number }[];
  settings: FieldChange[];
}

export type PushStatus = 'running' | 'completed' | 'halted' | 'aborted';

export interface Rollout {
  waves: number[];
  maxFailurePercent?: number;
  currentWave?: number;
}

export type PushCountsBody = Record<PushState, number>;

export interface PushSummary {
  id: string;
  ruleSetId: string;
  version: number;
  createdAt: string;
  createdBy: string | null;
  status: PushStatus;
  rollout: Rollout | null;
  rollbackOf: string | null;
  counts: PushCountsBody;
}

export interface PushRequest {
  ruleSetId: string;
  version?: number;
  agentIds?: string[];
  groups?: string[];
  labels?: string[];
  rollout?: { waves: number[]; maxFailurePercent?: number };
}

export interface DryRun {
  ruleSetId: string;
  version: number;
  agents: {
    agentId: string;
    name: string;
    online: boolean;
    edition: Edition | null;
    current: { ruleSetId: string; version: number } | null;
    diff: RuleSetDiff | null;
    errors: RuleError[];
  }[];
}

export interface AgentPush {
  pushId: string;
  ruleSetId: string;
  version: number;
  createdAt: string;
  createdBy: string | null;
  state: PushState;
  errors: RuleError[];
  updatedAt: string;
}

export interface ActivityPoint {
  t: string;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  conversations: number;
  packetsPerSecond: number;
  bytesPerSecond: number;
}

export interface ActivitySeries {
  bucketSeconds: number;
  points: ActivityPoint[];
}

export interface Rate {
  packetsPerSecond: number;
  bytesPerSecond: number;
}

export interface ActivityRates {
  windowSeconds: number;
  fleet: Rate;
  agents: (Rate & { agentId: string })[];
  rules: (Rate & { agentId: string; ruleId: string; lastHitAt: string | null })[];
}

export interface AgentFilter {
  search?: string;
  online?: boolean;
  group?: string;
  label?: string;
  /** true: only agents whose applied rule set differs from the one last pushed (`Agent.drift`). */
  drift?: boolean;
}

/** `GET /api/agents/summary` (docs/http-api.md). */
export interface AgentSummary {
  enrolled: number;
  online: number;
  matching: number;
  groups: string[];
  labels: string[];
}

/** `GET /api/activity/agents`: everything one agent reported, all its rules. */
export type AgentActivityTotal = Omit<ActivityTotal, 'ruleId'>;
