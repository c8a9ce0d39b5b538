/** The agent's command line as the suites drive it: built once per suite, run as a child process. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const REPO = path.join(__dirname, '..', '..', '..');
export const CLI = path.join(REPO, 'agent/bin/portfleet-agent.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `tsc -b agent`, so the CLI runs what the sources say (Jest runs them through SWC, the CLI runs
 * dist/). tsc emits even when another file has type errors; what matters here is a current CLI.
 */
export function buildAgentCli(): void {
  const build = spawnSync(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-b', 'agent'], { cwd: REPO, encoding: 'utf8' });
  if (!existsSync(path.join(REPO, 'agent/dist/cli/main.js'))) throw new Error(`tsc -b agent built no CLI:\n${build.stdout}${build.stderr}`);
}

/**
 * Runs one CLI command to its end, asynchronously (a fake controller in this process must be able
 * to answer it). `prefix` runs it under another command (`ip netns exec NS`); killed after `timeoutMs`.
 */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; prefix?: string[]; timeoutMs?: number } = {}): Promise<CliResult> {
  const [command, ...rest] = [...(options.prefix ?? []), process.execPath, CLI, ...args];
  return new Promise((resolve) => {
    const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
