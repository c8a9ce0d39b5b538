import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** `agent.pid` in the state folder: lets `rules import` reach the running agent with SIGHUP. */
export function pidFile(stateDir: string): string {
  return path.join(stateDir, 'agent.pid');
}

export async function writePidFile(stateDir: string): Promise<void> {
  await fs.writeFile(pidFile(stateDir), `${process.pid}\n`, { mode: 0o600 });
}

export async function removePidFile(stateDir: string): Promise<void> {
  const text = await fs.readFile(pidFile(stateDir), 'utf8').catch(() => '');
  if (Number(text.trim()) === process.pid) await fs.rm(pidFile(stateDir), { force: true });
}

/** The pid of the agent running on this state folder, or undefined. */
export async function runningAgentPid(stateDir: string): Promise<number | undefined> {
  const pid = Number((await fs.readFile(pidFile(stateDir), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}
