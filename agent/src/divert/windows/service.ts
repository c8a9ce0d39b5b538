/**
 * The agent as a Windows service. node.exe does not speak the Service Control Manager protocol
 * (SCM would kill it after 30 s with error 1053), so the service's binary is a service host,
 * WinSW (`<agent>/service/portfleet-agent-service.exe`, its config in the `.xml` of the same name
 * beside it), which starts `node <agent>/bin/portfleet-agent.js run` and restarts it on failure.
 * Registration and control go through `sc.exe`; these builders are pure so the command lines are
 * unit-tested here, and `runServiceCommand` runs them only on Windows.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

export interface ServiceDefinition {
  /** Service name (key), e.g. `PortfleetAgent`. */
  name: string;
  displayName: string;
  description: string;
  /** The service host executable (WinSW) registered as the service binary. */
  hostPath: string;
  /** node.exe and the agent's entry script, for the service host's config. */
  nodePath: string;
  agentScript: string;
  /** Extra arguments after `run` (e.g. `--state-dir C:\ProgramData\Portfleet`). */
  args?: string[];
  /** Environment of the agent process (e.g. PORTFLEET_WINDIVERT_DIR). */
  env?: Record<string, string>;
}

export type ServiceAction = 'install' | 'uninstall' | 'start' | 'stop';

/** One sc.exe invocation: its arguments as passed to CreateProcess (no shell). */
export type ScCommand = readonly string[];

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,79}$/;

/** sc.exe options are `name= value`: the `=` belongs to the name, the value is the next argument. */
export function serviceCommands(def: ServiceDefinition, action: ServiceAction, options: { removeDriver?: boolean } = {}): ScCommand[] {
  if (!NAME.test(def.name)) throw new Error(`service name ${JSON.stringify(def.name)} must be a letter then up to 79 letters, digits, - or _`);
  switch (action) {
    case 'install':
      return [
        [
          'create', def.name,
          // Quoted inside the value so the SCM reads a path with spaces as one program.
          'binPath=', `"${def.hostPath}"`,
          'start=', 'auto',
          'DisplayName=', def.displayName,
          // WinDivert needs the Base Filtering Engine.
          'depend=', 'BFE',
        ],
        ['description', def.name, def.description],
        ['failure', def.name, 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/60000'],
      ];
    case 'uninstall':
      return [
        ['stop', def.name],
        ['delete', def.name],
        // The driver stays loaded until reboot unless stopped; delete only when asked (other
        // WinDivert programs on the host share it).
        ...(options.removeDriver ? [['stop', 'WinDivert'], ['delete', 'WinDivert']] : []),
      ];
    case 'start':
      return [['start', def.name]];
    case 'stop':
      return [['stop', def.name]];
  }
}

/** WinSW's configuration for the service host (written next to it as `<host>.xml`). */
export function serviceHostConfig(def: ServiceDefinition): string {
  const args = [quoteArg(def.agentScript), 'run', ...(def.args ?? []).map(quoteArg)].join(' ');
  const env = Object.entries(def.env ?? {})
    .map(([k, v]) => `  <env name="${xml(k)}" value="${xml(v)}"/>`)
    .join('\n');
  return [
    '<service>',
    `  <id>${xml(def.name)}</id>`,
    `  <name>${xml(def.displayName)}</name>`,
    `  <description>${xml(def.description)}</description>`,
    `  <executable>${xml(def.nodePath)}</executable>`,
    `  <arguments>${xml(args)}</arguments>`,
    ...(env ? [env] : []),
    '  <stoptimeout>15 sec</stoptimeout>',
    '  <onfailure action="restart" delay="5 sec"/>',
    '  <log mode="roll-by-size"><sizeThreshold>10240</sizeThreshold><keepFiles>5</keepFiles></log>',
    '</service>',
    '',
  ].join('\n');
}

/** WinSW reads `<host without .exe>.xml`. */
export function hostConfigPath(def: ServiceDefinition): string {
  return def.hostPath.replace(/\.exe$/i, '') + '.xml';
}

function quoteArg(arg: string): string {
  return /[\s"]/.test(arg) ? `"${arg.replaceAll('"', '\\"')}"` : arg;
}

function xml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/**
 * Runs the commands for an action with sc.exe, in order. `stop` of a service that is not running
 * (1062) and `delete`/`stop` of one that does not exist (1060) are not failures for uninstall.
 */
export async function runServiceCommand(def: ServiceDefinition, action: ServiceAction, options: { removeDriver?: boolean } = {}): Promise<void> {
  if (process.platform !== 'win32') throw new Error('Windows services can only be managed on Windows');
  const run = promisify(execFile);
  if (action === 'install') await writeFile(hostConfigPath(def), serviceHostConfig(def), 'utf8');
  for (const args of serviceCommands(def, action, options)) {
    try {
      await run('sc.exe', [...args], { windowsHide: true });
    } catch (error) {
      const out = String((error as { stdout?: string }).stdout ?? '');
      const tolerated = action === 'uninstall' && /\b(1060|1062)\b/.test(out);
      if (!tolerated) throw new Error(`sc.exe ${args.join(' ')} failed: ${out.trim() || (error as Error).message}`);
    }
  }
}
