import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Option, type Command } from 'commander';
import { parseTapAddress } from '../../divert/memory';
import { CliError } from '../cli-error';
import { DEFAULT_UNIT_DIR, renderUnit, UNIT_NAME } from '../service/systemd-unit';
import { stateDirOption } from '../state-dir-option';

const run = promisify(execFile);

interface InstallOptions {
  stateDir: string;
  dataplane: string;
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

function requireLinux(): void {
  if (process.platform !== 'linux') {
    throw new CliError(`service management is implemented for Linux (systemd) only; on ${process.platform} run \`portfleet-agent run\` under your service manager`);
  }
}

export function serviceCommand(program: Command): void {
  const service = program.command('service').description(`run the agent as a system service (systemd unit ${UNIT_NAME})`);
  const unitDir = () => new Option('--unit-dir <dir>', 'where systemd units live').default(DEFAULT_UNIT_DIR);

  service
    .command('install')
    .description('write the systemd unit, reload systemd and enable it at boot (start it with `service start`)')
    .addOption(new Option('--dataplane <kind>', 'data plane the service runs with').choices(['memory']).default('memory'))
    .option('--tap <path|port>', 'memory data plane tap, as for `run`')
    .option('--report-interval-ms <ms>', 'period of activity reports, as for `run`')
    .option('--no-enable', 'only write the unit and reload systemd')
    .option('--print', 'print the unit and change nothing')
    .addOption(unitDir())
    .addOption(stateDirOption())
    .action(async (options: InstallOptions) => {
      const runArgs = ['--dataplane', options.dataplane];
      const writablePaths: string[] = [];
      if (options.tap) {
        runArgs.push('--tap', options.tap);
        const tap = parseTapAddress(options.tap);
        if ('path' in tap) writablePaths.push(path.dirname(path.resolve(tap.path)));
      }
      if (options.reportIntervalMs) runArgs.push('--report-interval-ms', options.reportIntervalMs);
      const unit = renderUnit({
        node: process.execPath,
        cli: path.resolve(__dirname, '..', '..', '..', 'bin', 'portfleet-agent.js'),
        stateDir: path.resolve(options.stateDir),
        runArgs,
        writablePaths,
      });
      if (options.print) {
        process.stdout.write(unit);
        return;
      }
      requireLinux();
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
    .description('stop and disable the service and remove its unit (the state folder stays)')
    .addOption(unitDir())
    .action(async (options: { unitDir: string }) => {
      requireLinux();
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
      .action(async () => {
        requireLinux();
        await systemctl(verb, UNIT_NAME);
      });
  }
}
