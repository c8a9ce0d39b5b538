import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

export interface CpuSeconds {
  /** The process itself (the controller). */
  self: number;
  /** Everything below it (its embedded PostgreSQL and that server's backends). */
  children: number;
}

/** User + system CPU seconds used so far by `pid` and, separately, by all its descendants. */
export function cpuSeconds(pid: number): CpuSeconds {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state ppid … utime(14) stime(15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process ended while we looked
    }
  }
  const descendants = new Set<number>([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, s] of stats) {
      if (!descendants.has(p) && descendants.has(s.ppid)) {
        descendants.add(p);
        grew = true;
      }
    }
  }
  let children = 0;
  for (const p of descendants) if (p !== pid) children += stats.get(p)?.ticks ?? 0;
  return { self: (stats.get(pid)?.ticks ?? 0) / TICKS_PER_S, children: children / TICKS_PER_S };
}

/** CPU used between two readings, as cores busy over `seconds` of wall time. */
export function coresBusy(before: CpuSeconds, after: CpuSeconds, seconds: number): { controller: number; postgres: number } {
  return { controller: (after.self - before.self) / seconds, postgres: (after.children - before.children) / seconds };
}

/**
 * Waits until the process (with its PostgreSQL) has used less than `maxCores` over a whole second,
 * so a measurement starts after the work that came before it (connect storms) has finished.
 * Returns the seconds waited; gives up after `timeoutS`.
 */
export async function waitIdle(pid: number, maxCores = 0.1, timeoutS = 120): Promise<number> {
  const started = Date.now();
  let before = cpuSeconds(pid);
  while ((Date.now() - started) / 1000 < timeoutS) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cpuSeconds(pid);
    const used = now.self - before.self + (now.children - before.children);
    before = now;
    if (used < maxCores) break;
  }
  return (Date.now() - started) / 1000;
}
