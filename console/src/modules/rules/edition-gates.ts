import type { Edition, EditionLimits } from '@/api/types';
import type { EndpointKey } from './rule-fields';

type GatedFeature = 'descriptions' | 'ipAddresses' | 'macAddresses' | 'adapters' | 'cloneAndReflection';

const FEATURE_NAMES: Record<GatedFeature, string> = {
  descriptions: 'Rule descriptions',
  ipAddresses: 'IP address select/rewrite',
  macAddresses: 'MAC address select/rewrite',
  adapters: 'Adapter select/rewrite',
  cloneAndReflection: 'Traffic cloning and reflection',
};
const NAMES: Record<Edition, string> = { trial: 'Trial', basic: 'Basic', pro: 'Pro', ultimate: 'Ultimate' };
const PAID: Edition[] = ['basic', 'pro', 'ultimate'];

const ENDPOINT_FEATURE: Record<EndpointKey, GatedFeature | null> = {
  localPort: null,
  remotePort: null,
  localAddress: 'ipAddresses',
  remoteAddress: 'ipAddresses',
  localMac: 'macAddresses',
  remoteMac: 'macAddresses',
  adapter: 'adapters',
};

/** Why a field is off in this edition (null when it is allowed), as the editor says it. */
export type Gate = (feature: GatedFeature) => string | null;

/**
 * The edition's gates. `editions` (the whole table from the license) names the editions that
 * would allow the feature; no license known yet means nothing is gated (the controller still checks).
 */
export function gatesFor(edition: Edition | null, limits: EditionLimits | null, editions?: Record<Edition, EditionLimits>): Gate {
  return (feature) => {
    if (!limits) return edition === null && editions ? `${FEATURE_NAMES[feature]}: no valid license` : null;
    if (limits[feature]) return null;
    const upgrade = editions ? PAID.filter((e) => editions[e]?.[feature]).map((e) => NAMES[e]) : [];
    const where = edition ? `the ${NAMES[edition]} edition` : 'this edition';
    return `${FEATURE_NAMES[feature]}: not included in ${where}${upgrade.length ? ` (available in ${upgrade.join(' or ')})` : ''}`;
  };
}

export const endpointFeature = (key: EndpointKey): GatedFeature | null => ENDPOINT_FEATURE[key];
