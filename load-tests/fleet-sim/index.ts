/** The fleet simulator as a library (benchmarks, tests); the CLI is main.ts. */
export { ActivityLedger, type SentReport } from './activity-ledger';
export { ChannelPool, DEFAULT_AGENTS_PER_CHANNEL } from './channel-pool';
export { enrollFleet, type EnrollFleetOptions, type TokenSource } from './enrollment';
export { DEFAULT_MAX_UNACKED_REPORTS, Fleet, type ApplyRecord, type CounterTotals, type EnrollOptions, type FleetOptions } from './fleet';
export { httpTokenSource, type AdminAuth } from './http-tokens';
export { Percentiles } from './percentiles';
export { RuleSetValidations, type Validation } from './rule-set-validations';
export { SimAgent, type AgentIdentity, type AppliedRuleSet } from './sim-agent';
