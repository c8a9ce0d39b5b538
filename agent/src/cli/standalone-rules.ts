import { readFile } from 'node:fs/promises';
import { checkEdition, formatFieldErrors, parseRulesFile, type Edition } from '@portfleet/proto';
import { RuleInbox } from '../control/rule-inbox';
import { CliError } from './cli-error';

/**
 * `run --standalone --rules FILE`: the host's own rule list (what the single-host product edits in
 * its window), in the rules file format. Unlike `rules import` it is not the import/export
 * feature, so every edition may use it; the list itself is held to the edition. A valid list is
 * handed to the agent through the inbox, like an import.
 */
export async function queueRulesFile(file: string, edition: Edition, stateDir: string): Promise<number> {
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new CliError(`--rules: cannot read ${file}: ${error.message}`);
  });
  const parsed = parseRulesFile(text);
  if (!parsed.ok) throw new CliError(`--rules ${file} is not valid; nothing was applied:\n${formatFieldErrors(parsed.errors)}`);
  const errors = checkEdition(edition, parsed.value.rules);
  if (errors.length > 0) throw new CliError(`--rules ${file} exceeds the ${edition} edition; nothing was applied:\n${formatFieldErrors(errors)}`);
  await new RuleInbox(stateDir).put(text);
  return parsed.value.rules.length;
}
