import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The name this agent reports; PORTFLEET_AGENT_HOSTNAME overrides it (several agents on one test host). */
export function agentHostname(env: NodeJS.ProcessEnv = process.env): string {
  return env.PORTFLEET_AGENT_HOSTNAME || os.hostname();
}

/** `linux`, `windows`, `darwin`… as the controller shows it. */
export function agentPlatform(): string {
  return process.platform === 'win32' ? 'windows' : process.platform;
}

let cachedVersion: string | undefined;

/** The agent package's version (from agent/package.json, next to src/ and dist/). */
export function agentVersion(): string {
  cachedVersion ??= (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  return cachedVersion;
}
