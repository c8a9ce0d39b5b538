import type { Command } from 'commander';
import { StateStore, StateFileCorruptError } from '../../control/state-store';
import { runningAgentPid } from '../pid-file';
import { stateDirOption } from '../state-dir-option';

/** Reads one file of the state folder, turning corruption into a status line instead of a crash. */
async function safely<T>(read: () => Promise<T>): Promise<{ value: T | null; problem?: string }> {
  try {
    return { value: await read() };
  } catch (error) {
    if (error instanceof StateFileCorruptError) return { value: null, problem: error.message };
    throw error;
  }
}

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('show enrollment, the applied rule set and activity reports still owed, from the state folder')
    .option('--json', 'print one JSON object')
    .addOption(stateDirOption())
    .action(async (options: { stateDir: string; json?: boolean }) => {
      // Read-only: no init (which would create or tighten the folder).
      const store = new StateStore(options.stateDir);
      const credential = await safely(() => store.readCredential());
      const applied = await safely(() => store.readApplied());
      const activity = await safely(() => store.readActivity());
      const status = {
        stateDir: store.dir,
        runningPid: (await runningAgentPid(store.dir)) ?? null,
        enrolled: credential.value !== null,
        controller: credential.value?.controller ?? null,
        agentId: credential.value?.agentId ?? null,
        applied: applied.value && {
          ruleSetId: applied.value.ruleSet.ruleSetId,
          version: applied.value.ruleSet.version,
          contentHash: applied.value.ruleSet.contentHash,
          rules: applied.value.ruleSet.rules.length,
          appliedAt: new Date(applied.value.appliedAtMs).toISOString(),
        },
        reportsOwed: activity.value?.pending.length ?? 0,
        nextReportSeq: activity.value?.nextSeq ?? 1,
        problems: [credential.problem, applied.problem, activity.problem].filter((p): p is string => p !== undefined),
      };
      if (options.json) {
        process.stdout.write(`${JSON.stringify(status)}\n`);
        return;
      }
      const lines = [
        `state folder: ${status.stateDir}`,
        `running:      ${status.runningPid === null ? 'no' : `yes (pid ${status.runningPid})`}`,
        status.enrolled ? `enrolled:     agent ${status.agentId} with controller ${status.controller}` : 'enrolled:     no (run `portfleet-agent enroll --controller HOST:PORT --token T`)',
        status.applied
          ? `applied:      rule set ${status.applied.ruleSetId} version ${status.applied.version} (${status.applied.rules} rules, ${status.applied.appliedAt})`
          : 'applied:      nothing',
        `reports owed: ${status.reportsOwed} (next seq ${status.nextReportSeq})`,
        ...status.problems.map((p) => `problem:      ${p}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
