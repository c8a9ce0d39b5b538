import { contentHash, DEFAULT_SETTINGS, ruleSetVersionToWire, type Rule, type Settings } from '@portfleet/proto';
import type { ApplyRuleSet } from '@portfleet/proto/gen/agent';
import type { CapabilitySnapshot } from '@portfleet/proto/gen/rules';

/** An ApplyRuleSet as a controller would push it (content hash computed unless given). */
export function pushOf(options: {
  version: number;
  rules: Rule[];
  settings?: Partial<Settings>;
  ruleSetId?: string;
  pushId?: string;
  contentHash?: string;
  capabilities?: CapabilitySnapshot;
}): ApplyRuleSet {
  const settings = { ...DEFAULT_SETTINGS, ...options.settings };
  const hash = options.contentHash ?? contentHash(options.rules, settings);
  return {
    pushId: options.pushId ?? `push-${options.version}`,
    ruleSet: ruleSetVersionToWire({ ruleSetId: options.ruleSetId ?? 'rs-1', version: options.version, rules: options.rules, settings, contentHash: hash }),
    capabilities: options.capabilities,
  };
}

export const forward80to8080 = (id = 'web'): Rule => ({
  id,
  enabled: true,
  activityMonitoring: true,
  selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 },
  forwardAs: { localPort: 8080 },
});

export const forward80to9090 = (id = 'web'): Rule => ({ ...forward80to8080(id), forwardAs: { localPort: 9090 } });
