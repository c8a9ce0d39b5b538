import { parseArgs } from 'node:util';

/**
 * `--name value` options: numbers (≥ 0) and strings, each with its default. An unknown option or a
 * bad number stops the run with a message naming the option.
 */
export function benchArgs<N extends string, S extends string>(
  numbers: Record<N, number>,
  strings: Record<S, string>,
): { num: Record<N, number>; str: Record<S, string> } {
  const names = [...Object.keys(numbers), ...Object.keys(strings)];
  const { values } = parseArgs({ options: Object.fromEntries(names.map((k) => [k, { type: 'string' as const }])), strict: true });
  const num = { ...numbers };
  for (const key of Object.keys(numbers) as N[]) {
    const raw = values[key];
    if (raw === undefined) continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${key}: expected a number ≥ 0, got "${raw}"`);
    num[key] = value;
  }
  const str = { ...strings };
  for (const key of Object.keys(strings) as S[]) {
    const raw = values[key];
    if (typeof raw === 'string') str[key] = raw;
  }
  return { num, str };
}
