import { promises as dns } from 'node:dns';
import { classifyAddress, type FieldError, type Rule } from '@portfleet/proto';

/** All addresses of a name (A and AAAA), in the resolver's order. */
export type NameResolver = (name: string) => Promise<string[]>;

/** The system resolver (hosts file, then DNS), as applications on the host would see the name. */
export const systemResolver: NameResolver = async (name) => {
  const answers = await dns.lookup(name, { all: true, order: 'verbatim' });
  return answers.map((a) => a.address);
};

const ADDRESS_FIELDS = [
  ['selector', 'localAddress'],
  ['selector', 'remoteAddress'],
  ['forwardAs', 'localAddress'],
  ['forwardAs', 'remoteAddress'],
] as const;

/**
 * Resolves every DNS name in the enabled rules once, at apply time (SPEC §1): selectors match all
 * of a name's addresses, forward-as uses the first — the engine picks, this gives it all of them.
 * A name that does not resolve is a DNS_UNRESOLVED error on each field that uses it.
 */
export async function resolveRuleNames(
  rules: readonly Rule[],
  resolve: NameResolver,
): Promise<{ resolved: Map<string, string[]>; errors: FieldError[] }> {
  const uses = new Map<string, { ruleIndex: number; ruleId: string; field: string }[]>();
  rules.forEach((rule, ruleIndex) => {
    if (!rule.enabled) return;
    for (const [part, key] of ADDRESS_FIELDS) {
      const value = rule[part][key];
      if (value === undefined || classifyAddress(value) !== 'dns') continue;
      const list = uses.get(value) ?? [];
      list.push({ ruleIndex, ruleId: rule.id, field: `${part}.${key}` });
      uses.set(value, list);
    }
  });

  const resolved = new Map<string, string[]>();
  const errors: FieldError[] = [];
  await Promise.all(
    [...uses].map(async ([name, fields]) => {
      let addresses: string[] = [];
      let reason = 'has no A or AAAA address';
      try {
        addresses = await resolve(name);
      } catch (error) {
        reason = `does not resolve (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
      }
      if (addresses.length > 0) resolved.set(name, addresses);
      else for (const use of fields) errors.push({ ...use, code: 'DNS_UNRESOLVED', message: `${name} ${reason}` });
    }),
  );
  errors.sort((a, b) => (a.ruleIndex ?? -1) - (b.ruleIndex ?? -1) || a.field.localeCompare(b.field));
  return { resolved, errors };
}
