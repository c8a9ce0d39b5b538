import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { contentHash, exportRules, parseRulesFile, ruleSetVersionToWire, type FieldError, type Parsed, type RulesFile } from '@portfleet/proto';
import type { ApplyRuleSet } from '@portfleet/proto/gen/agent';
import { writeFileAtomic } from './atomic-file';
import type { AppliedSummary } from './apply';

/** The rule set id of lists imported on the host rather than pushed by a controller. */
export const LOCAL_RULE_SET_ID = 'local';

/**
 * Rules imported from a file (`portfleet-agent rules import`) wait in the state folder until the
 * agent takes them (at start, or at once on SIGHUP) and applies them like a push. What happened
 * is written to `import.result.json`.
 */
export class RuleInbox {
  constructor(private readonly dir: string) {}

  get file(): string {
    return path.join(this.dir, 'import.json');
  }

  /** Validates a rules file completely; only a valid file is stored (as its canonical export). */
  async put(text: string): Promise<Parsed<RulesFile>> {
    const parsed = parseRulesFile(text);
    if (parsed.ok) await writeFileAtomic(this.file, exportRules(parsed.value.rules, parsed.value.settings));
    return parsed;
  }

  /** The waiting import as a push of the next local version; null when none waits. */
  async take(current: AppliedSummary | null): Promise<Parsed<ApplyRuleSet> | null> {
    const text = await fs.readFile(this.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (text === null) return null;
    // Valid when stored; a file edited by hand since then is refused like any bad import.
    const parsed = parseRulesFile(text);
    if (!parsed.ok) return parsed;
    const { rules, settings } = parsed.value;
    const version = current?.ruleSetId === LOCAL_RULE_SET_ID ? current.version + 1 : 1;
    const ruleSet = ruleSetVersionToWire({ ruleSetId: LOCAL_RULE_SET_ID, version, rules, settings, contentHash: contentHash(rules, settings) });
    return { ok: true, value: { pushId: `import-${Date.now()}`, ruleSet, capabilities: undefined } };
  }

  /** Records what became of the taken import (for `rules import` to report) and removes it. */
  async settle(result: ImportResult): Promise<void> {
    await writeFileAtomic(this.resultFile, `${JSON.stringify(result, null, 1)}\n`);
    await fs.rm(this.file, { force: true });
  }

  get resultFile(): string {
    return path.join(this.dir, 'import.result.json');
  }

  async readResult(): Promise<ImportResult | null> {
    try {
      return JSON.parse(await fs.readFile(this.resultFile, 'utf8')) as ImportResult;
    } catch {
      return null;
    }
  }
}

export interface ImportResult {
  applied: boolean;
  version: number;
  errors: FieldError[];
  atMs: number;
}
