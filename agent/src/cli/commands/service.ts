import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Option, type Command } from 'commander';
import { parseTapAddress } from '../../divert/memory';
import { runServiceCommand, serviceCommands, serviceHostConfig, hostConfigPath, type ServiceAction, type ServiceDefinition } from '../../divert/windows/service';
import { CliError } from '../cli-error';
import { DATAPLANE_KINDS } from '../dataplane-choice';
import { DEFAULT_UNIT_DIR, renderUnit, UNIT_NAME } from '../service/systemd-unit';
import { stateDirOption } from '../state-dir-option';

const run = promisify(execFile);

type Target = 'systemd' | 'windows';

interface InstallOptions {
  stateDir: string;
  target: Target;
  dataplane?: string;
  tap?: string;
  reportIntervalMs?: string;
  unitDir: string;
  print?: boolean;
  enable: boolean;
}

async function systemctl(...args: string[]): Promise<void> {
  try {
    await run('systemctl', args);
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new CliError(`systemctl ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
  }
}

const AGENT_ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(AGENT_ROOT, 'bin', 'portfleet-agent.js');
export const WINDOWS_SERVICE_NAME = 'PortfleetAgent';
/** WinSW, shipped beside the agent on Windows (docs/windows-dataplane.md). */
const WINDOWS_SERVICE_HOST = path.join(AGENT_ROOT, 'service', 'portfleet-agent-service.exe');

function defaultTarget(): Target {
  return process.platform === 'win32' ? 'windows' : 'systemd';
}

function targetOption(): Option {
  return new Option('--target <kind>', 'service manager: systemd (Linux) or windows (SCM through WinSW)').choices(['systemd', 'windows']).default(defaultTarget());
}

function requirePlatform(target: Target): void {
  const needed = target === 'windows' ? 'win32' : 'linux';
  if (process.platform !== needed) {
    throw new CliError(`${target} services can be managed only on ${target === 'windows' ? 'Windows' : 'Linux'}, this is ${process.platform} (use --print to see what would be installed)`);
  }
}

function windowsService(stateDir: string, runArgs: string[]): ServiceDefinition {
  return {
    name: WINDOWS_SERVICE_NAME,
    displayName: 'Portfleet agent',
    description: 'Portfleet agent: port forwarding managed by a Portfleet controller',
    hostPath: WINDOWS_SERVICE_HOST,
    nodePath: process.execPath,
    agentScript: CLI,
    // A Windows path stays as given (also when the plan is printed on another OS).
    args: ['--state-dir', path.win32.isAbsolute(stateDir) ? stateDir : path.resolve(stateDir), ...runArgs],
  };
}

async function windowsAction(def: ServiceDefinition, action: ServiceAction, options: { removeDriver?: boolean } = {}): Promise<void> {
  requirePlatform('windows');
  try {
    await runServiceCommand(def, action, options);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/** What `install --print --target windows` shows: the service host config and the sc.exe lines. */
function windowsPlan(def: ServiceDefinition): string {
  const commands = serviceCommands(def, 'install').map((args) => `sc.exe ${args.map((a) => (/[\s"]/.test(a) ? `"${a.replaceAll('"', '\\"')}"` : a)).join(' ')}`);
  return `# ${hostConfigPath(def)}\n${serviceHostConfig(def)}\n# then\n${commands.join('\n')}\n`;
}

export function serviceCommand(program: Command): void {
  const service = program.command('service').description(`run the agent as a system service (systemd unit ${UNIT_NAME} on Linux, Windows service ${WINDOWS_SERVICE_NAME})`);
  const unitDir = () => new Option('--unit-dir <dir>', 'where systemd units live').default(DEFAULT_UNIT_DIR);

  service
    .command('install')
    .description('register the service, started at boot (start it now with `service start`): a systemd unit, or on Windows the WinSW host with sc.exe')
    .addOption(new Option('--dataplane <kind>', 'data plane the service runs with (default: as `run` chooses)').choices(DATAPLANE_KINDS))
    .option('--tap <path|port>', 'memory data plane tap, as for `run`')
    .option('--report-interval-ms <ms>', 'period of activity reports, as for `run`')
    .option('--no-enable', 'only write the unit and reload systemd')
    .option('--print', 'print the unit and change nothing')
    .addOption(unitDir())
    .addOption(targetOption())
    .addOption(stateDirOption())
    .action(async (options: InstallOptions) => {
      const runArgs = options.dataplane ? ['--dataplane', options.dataplane] : [];
      const writablePaths: string[] = [];
      if (options.tap) {
        runArgs.push('--tap', options.tap);
        const tap = parseTapAddress(options.tap);
        if ('path' in tap) writablePaths.push(path.dirname(path.resolve(tap.path)));
      }
      if (options.reportIntervalMs) runArgs.push('--report-interval-ms', options.reportIntervalMs);
      if (options.target === 'windows') {
        const def = windowsService(options.stateDir, runArgs);
        if (options.print) {
          process.stdout.write(windowsPlan(def));
          return;
        }
        requirePlatform('windows');
        const host = await fs.stat(def.hostPath).catch(() => null);
        if (!host) throw new CliError(`the service host ${def.hostPath} is missing: put WinSW (x64) there, it runs node as a Windows service`);
        await windowsAction(def, 'install');
        process.stderr.write(`installed Windows service ${def.name} (automatic start); start it with \`portfleet-agent service start\`\n`);
        return;
      }
      const unit = renderUnit({
        node: process.execPath,
        cli: CLI,
        stateDir: path.resolve(options.stateDir),
        runArgs,
        writablePaths,
      });
      if (options.print) {
        process.stdout.write(unit);
        return;
      }
      requirePlatform('systemd');
      const file = path.join(options.unitDir, UNIT_NAME);
      await fs.writeFile(file, unit, { mode: 0o644 });
      try {
        await systemctl('daemon-reload');
        if (options.enable) await systemctl('enable', UNIT_NAME);
      } catch (error) {
        await fs.rm(file, { force: true }); // no unit left behind that systemd never saw
        throw error;
      }
      process.stderr.write(`installed ${file}${options.enable ? ' (enabled at boot)' : ''}; start it with \`portfleet-agent service start\`\n`);
    });

  service
    .command('uninstall')
    .description('stop and remove the service (the state folder stays)')
    .addOption(unitDir())
    .addOption(targetOption())
    .option('--remove-driver', 'Windows: also stop and delete the WinDivert driver service (other WinDivert programs share it)')
    .action(async (options: { unitDir: string; target: Target; removeDriver?: boolean }) => {
      if (options.target === 'windows') {
        await windowsAction(windowsService('', []), 'uninstall', { removeDriver: options.removeDriver });
        process.stderr.write(`removed Windows service ${WINDOWS_SERVICE_NAME}\n`);
        return;
      }
      requirePlatform('systemd');
      const file = path.join(options.unitDir, UNIT_NAME);
      await systemctl('disable', '--now', UNIT_NAME).catch(() => undefined); // already stopped or never enabled
      await fs.rm(file, { force: true });
      await systemctl('daemon-reload');
      process.stderr.write(`removed ${file}\n`);
    });

  for (const verb of ['start', 'stop'] as const) {
    service
      .command(verb)
      .description(`${verb} the installed service`)
      .addOption(targetOption())
      .action(async (options: { target: Target }) => {
        if (options.target === 'windows') return windowsAction(windowsService('', []), verb);
        requirePlatform('systemd');
        await systemctl(verb, UNIT_NAME);
      });
  }
}
