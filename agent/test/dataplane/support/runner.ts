/**
 * The agent's packet path alone, for the data-plane suites: run inside the agent namespace as
 *   node -r register-ts.js runner.ts '<json config>'
 * It opens the Linux data plane, applies the rules to the engine and the steering, pumps packets
 * and talks JSON lines: prints {"event":"ready"} then answers "stats" lines on stdin; SIGTERM
 * closes the plane (our iptables rules go) and exits 0.
 */
import * as readline from 'node:readline';
import type { Rule, Settings } from '@portfleet/proto';
import { resolveRuleNames, systemResolver } from '../../../src/control/resolve-names';
import { PacketPump } from '../../../src/divert/pump';
import { LinuxDataPlane, type LinuxDataPlaneOptions } from '../../../src/divert/linux/linux';
import { Engine } from '../../../src/engine/engine';

interface RunnerConfig {
  rules: Rule[];
  settings: Settings;
  plane?: LinuxDataPlaneOptions;
}

function say(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as RunnerConfig;
  // Kernel rules only when the config asks (kernel-rules.test.ts): the other suites are about the
  // userspace path and the fast path, which a rule run by the kernel would bypass.
  const plane = new LinuxDataPlane({ kernelRules: false, ...config.plane });
  const engine = new Engine();
  // The kernel fast path is on unless the config says `plane.fastPath: false`.
  plane.offloadTo(engine);
  await plane.open();
  const apply = async (rules: Rule[], settings: Settings) => {
    const { resolved, errors } = await resolveRuleNames(rules, systemResolver);
    if (errors.length > 0) throw new Error(`names did not resolve: ${JSON.stringify(errors)}`);
    const adapters = await plane.adapters();
    const result = engine.apply({ rules, settings, resolved, adapters, capabilities: plane.capabilities });
    if (!result.ok) throw new Error(`engine refused the rules: ${JSON.stringify(result.errors)}`);
    const refused = await plane.select({ rules, settings, resolved, adapters });
    if (refused.length > 0) throw new Error(`data plane refused the rules: ${JSON.stringify(refused)}`);
  };
  await apply(config.rules, config.settings);
  const pump = new PacketPump(plane, engine, (error) => say({ event: 'engine-error', message: String(error) }));
  const pumping = pump.start();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await plane.close();
    await pumping;
    say({ event: 'closed' });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'stats') {
      say({ event: 'stats', rules: engine.counters(), engine: engine.stats(), plane: plane.counters, fast: plane.fastCounters ?? null, kernel: plane.kernelRuleStats ?? null });
    } else if (line.startsWith('{')) {
      const next = JSON.parse(line) as { rules: Rule[]; settings: Settings };
      apply(next.rules, next.settings).then(
        () => say({ event: 'applied' }),
        (error: unknown) => say({ event: 'apply-failed', message: String(error) }),
      );
    }
  });
  say({ event: 'ready', pid: process.pid });
}

main().catch((error: unknown) => {
  say({ event: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
