import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkEdition,
  checkImportExport,
  exportRules,
  formatFieldErrors,
  licensePublicKey,
  parseRuleList,
  parseRulesFile,
  parseSettings,
  type Edition,
  type FieldError,
} from '@portfleet/proto';
import type { Command } from 'commander';
import { fromStoredSnapshot } from '../../control/apply';
import { snapshotEdition } from '../../control/edition-check';
import { localEdition } from '../../control/local-edition';
import { RuleInbox } from '../../control/rule-inbox';
import { StateStore, type AppliedState } from '../../control/state-store';
import { CliError } from '../cli-error';
import { runningAgentPid } from '../pid-file';
import { stateDirOption } from '../state-dir-option';

/**
 * Export/import is an edition feature (SPEC §3). A standalone host (not enrolled, or with a serial
 * key activated) has the local edition (key or trial); a managed one the edition the controller
 * last granted in its signed snapshot.
 */
async function editionFor(store: StateStore, applied: AppliedState | null): Promise<{ edition?: Edition; errors: FieldError[] }> {
  const credential = await store.readCredential().catch(() => null);
  const hasLicense = await store.readLicense().then((l) => l !== null, () => true);
  if (!credential || hasLicense) {
    const local = await localEdition(store, { publicKey: licensePublicKey() });
    return local.ok ? { edition: local.edition, errors: [] } : { errors: local.errors };
  }
  if (!applied?.capabilities) return { errors: [] };
  return snapshotEdition(fromStoredSnapshot(applied.capabilities), { agentId: credential.agentId, controllerPublicKey: credential.controllerPublicKey });
}

async function importExportErrors(store: StateStore, applied: AppliedState | null): Promise<{ edition?: Edition; errors: FieldError[] }> {
  const { edition, errors } = await editionFor(store, applied);
  return { edition, errors: edition ? checkImportExport(edition) : errors };
}

function refuse(what: string, errors: readonly FieldError[]): never {
  throw new CliError(`${what}:\n${formatFieldErrors(errors)}`);
}

export function rulesCommand(program: Command): void {
  const rules = program.command('rules').description('export the applied rule list to a file, or import one (standalone use)');

  rules
    .command('export')
    .description('write the applied rule list to FILE (- for stdout) in the versioned rules file format')
    .argument('<file>', 'target file, or - for stdout')
    .addOption(stateDirOption())
    .action(async (file: string, options: { stateDir: string }) => {
      const store = new StateStore(options.stateDir);
      const applied = await store.readApplied();
      if (!applied) throw new CliError(`no rule list has been applied on this host yet (state folder ${store.dir})`);
      const edition = await importExportErrors(store, applied);
      if (edition.errors.length > 0) refuse('export is not allowed', edition.errors);
      const list = parseRuleList(applied.ruleSet.rules);
      const settings = parseSettings(applied.ruleSet.settings);
      if (!list.ok) refuse('the applied rule list on disk is not valid', list.errors);
      if (!settings.ok) refuse('the applied settings on disk are not valid', settings.errors);
      const text = exportRules(list.value, settings.value);
      if (file === '-') process.stdout.write(text);
      else {
        await writeFile(file, text);
        process.stderr.write(`exported ${list.value.length} rules (rule set ${applied.ruleSet.ruleSetId} version ${applied.ruleSet.version}) to ${file}\n`);
      }
    });

  rules
    .command('import')
    .description('validate FILE (- for stdin) and apply its rules on this host; every error is reported and nothing changes on error')
    .argument('<file>', 'rules file, or - for stdin')
    .option('--wait-ms <ms>', 'how long to wait for a running agent to apply it (plus its apply delay)', (v) => Number(v), 15_000)
    .addOption(stateDirOption())
    .action(async (file: string, options: { stateDir: string; waitMs: number }) => {
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((error: Error) => {
        throw new CliError(`cannot read ${file}: ${error.message}`);
      });
      const parsed = parseRulesFile(text);
      if (!parsed.ok) refuse(`${file} was not imported`, parsed.errors);
      const store = new StateStore(options.stateDir);
      await store.init();
      const applied = await store.readApplied().catch(() => null);
      const edition = await importExportErrors(store, applied);
      const limits = edition.edition && edition.errors.length === 0 ? checkEdition(edition.edition, parsed.value.rules) : [];
      if (edition.errors.length + limits.length > 0) refuse(`${file} was not imported`, [...edition.errors, ...limits]);

      const inbox = new RuleInbox(store.dir);
      const before = (await inbox.readResult())?.atMs ?? 0;
      await inbox.put(text);
      const pid = await runningAgentPid(store.dir);
      if (pid === undefined) {
        process.stderr.write(`imported ${parsed.value.rules.length} rules; the agent applies them when it starts\n`);
        return;
      }
      process.kill(pid, 'SIGHUP');
      const deadline = Date.now() + options.waitMs + parsed.value.settings.applyDelayMs;
      while (Date.now() < deadline) {
        const result = await inbox.readResult();
        if (result && result.atMs > before) {
          if (!result.applied) refuse(`the running agent (pid ${pid}) could not apply ${file}; its rules are unchanged`, result.errors);
          process.stderr.write(`imported ${parsed.value.rules.length} rules; the running agent (pid ${pid}) applied them as local version ${result.version}\n`);
          return;
        }
        await sleep(100);
      }
      throw new CliError(`imported; the running agent (pid ${pid}) has not applied the rules within ${options.waitMs} ms (see its log)`);
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
