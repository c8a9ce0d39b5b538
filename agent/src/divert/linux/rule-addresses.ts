import { isIP } from 'node:net';

export type Family = 4 | 6;

/**
 * The addresses of one family a rule's address field names, as the nft and iptables rules match
 * them: null for any address, [] when it names none of this family. A DNS name is looked up in
 * `resolved`; `first` (forward-as) takes the first address *of the family*, as the engine's
 * forward-as does (engine/compile.ts resolveFirst), so a name with both families is reached over
 * each of them.
 */
export function familyAddresses(family: Family, value: string | undefined, resolved: ReadonlyMap<string, string[]>, which: 'all' | 'first'): string[] | null {
  if (value === undefined) return null;
  const all = (isIP(value) ? [value] : (resolved.get(value) ?? [])).filter((a) => isIP(a) === family);
  return which === 'first' ? all.slice(0, 1) : all;
}
