import { cpus, loadavg } from 'node:os';

/** Benchmarks print a human table on stderr and exactly one JSON line, last, on stdout. */
export function printTable(title: string, rows: Array<[string, string | number]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${typeof v === 'number' ? round(v) : v}`);
  process.stderr.write(`\n${title}\n${lines.join('\n')}\n`);
}

export function printResult(result: Record<string, number>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Progress and phase lines (stderr). */
export function note(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

/** The machine's state, so a figure can be read against how busy the box was. */
export function machineLoad(): string {
  return `${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
