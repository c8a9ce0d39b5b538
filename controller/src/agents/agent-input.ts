import { ValidationError } from '../errors/domain-error';
import type { MacAction } from './adapter-commands';
import type { AgentChanges } from './agents.service';

const TAG = /^[A-Za-z0-9_.:/-]{1,64}$/;
const MAX_TAGS = 32;
const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/** Agent edits from either transport: names the field at fault. */
export function parseAgentChanges(input: { name?: unknown; groups?: unknown; labels?: unknown }): AgentChanges {
  const changes: AgentChanges = {};
  if (input.name !== undefined) {
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 128) throw new ValidationError('name', 'INVALID_TYPE', 'must be 1-128 characters');
    changes.name = input.name.trim();
  }
  if (input.groups !== undefined) changes.groups = tags(input.groups, 'groups');
  if (input.labels !== undefined) changes.labels = tags(input.labels, 'labels');
  return changes;
}

function tags(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_TAGS) throw new ValidationError(field, 'INVALID_TYPE', `must be an array of at most ${MAX_TAGS} strings`);
  value.forEach((v, i) => {
    if (typeof v !== 'string' || !TAG.test(v)) throw new ValidationError(`${field}[${i}]`, 'INVALID_FORMAT', 'must be 1-64 characters of letters, digits and _ . : / -');
  });
  return [...new Set(value as string[])];
}

/** `{action: set|random|restore, mac?, vendor?}` → the AdapterCommand action. */
export function parseMacAction(input: { action?: unknown; mac?: unknown; vendor?: unknown }): MacAction {
  switch (input.action) {
    case 'set':
      if (typeof input.mac !== 'string' || !MAC.test(input.mac)) throw new ValidationError('mac', 'INVALID_MAC', 'must be a MAC address like 02:00:00:aa:bb:cc');
      return { $case: 'setMac', value: input.mac.toLowerCase().replace(/-/g, ':') };
    case 'random':
      if (input.vendor !== undefined && (typeof input.vendor !== 'string' || input.vendor.length > 128)) throw new ValidationError('vendor', 'INVALID_TYPE', 'must be a vendor name');
      return { $case: 'randomMacVendor', value: (input.vendor as string | undefined) ?? '' };
    case 'restore':
      return { $case: 'restoreMac', value: true };
    default:
      throw new ValidationError('action', 'INVALID_ENUM', 'must be one of set, random, restore');
  }
}

const EDITION_FILTERS = ['trial', 'basic', 'pro', 'ultimate', 'unlicensed'];

export function parseEditionFilter(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!EDITION_FILTERS.includes(value)) throw new ValidationError('edition', 'INVALID_ENUM', `must be one of ${EDITION_FILTERS.join(', ')}`);
  return value;
}
