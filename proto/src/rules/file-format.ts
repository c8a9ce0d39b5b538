/**
 * The versioned rules file used by export and import (documented in docs/rules-format.md).
 * Import validates everything and reports every problem; it never returns a partial result.
 */
import { parse as parseTolerant, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { canonicalRule, canonicalSettings } from './canonical-rule';
import { fieldError, type FieldError, type Parsed } from './field-error';
import { isRecord, ownField as own } from './json-object';
import type { Rule, Settings } from './model';
import { parseRuleList, parseSettings } from './validate';

export const RULES_FILE_FORMAT = 'portfleet-rules';
export const RULES_FILE_VERSION = 1;
const FILE_KEYS = ['format', 'version', 'exportedAt', 'settings', 'rules'];

export interface RulesFile {
  rules: Rule[];
  settings: Settings;
}

export function exportRules(rules: readonly Rule[], settings: Settings, exportedAt: Date = new Date()): string {
  const file = {
    format: RULES_FILE_FORMAT,
    version: RULES_FILE_VERSION,
    exportedAt: exportedAt.toISOString(),
    settings: canonicalSettings(settings),
    rules: rules.map((rule) => canonicalRule(rule)),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Errors about the file carry fields like `format` or `settings.tcpTimeoutS`; errors about a rule
 * carry `ruleIndex` (and `ruleId` when it has one) and a field relative to the rule. Rules without
 * an id get a fresh UUID.
 */
export function parseRulesFile(text: string): Parsed<RulesFile> {
  // Editors on Windows like to start UTF-8 files with a byte-order mark; JSON.parse does not.
  const json = parseJson(text.startsWith('\uFEFF') ? text.slice(1) : text);
  if (!json.ok) return json;
  const file = json.value;
  if (!isRecord(file)) {
    return { ok: false, errors: [fieldError('', 'INVALID_FORMAT', `must be a JSON object with "format": "${RULES_FILE_FORMAT}"`)] };
  }
  const top = file;
  const header = checkHeader(top);
  if (header.length > 0) return { ok: false, errors: header };

  const errors: FieldError[] = [];
  for (const key of Object.keys(top)) {
    if (!FILE_KEYS.includes(key)) errors.push(fieldError(key, 'UNKNOWN_FIELD', `is not a field of a rules file (known: ${FILE_KEYS.join(', ')})`));
  }
  const exportedAt = own(top, 'exportedAt');
  if (exportedAt !== undefined && (typeof exportedAt !== 'string' || Number.isNaN(Date.parse(exportedAt)))) {
    errors.push(fieldError('exportedAt', 'INVALID_TYPE', 'must be an ISO-8601 date-time'));
  }
  const settings = parseSettings(own(top, 'settings'));
  if (!settings.ok) errors.push(...settings.errors.map((e) => ({ ...e, field: e.field ? `settings.${e.field}` : 'settings' })));
  const rawRules = own(top, 'rules');
  if (rawRules === undefined) errors.push(fieldError('rules', 'REQUIRED', 'is required (an array of rules)'));
  const rules = rawRules === undefined ? undefined : parseRuleList(rawRules, { assignId: () => globalThis.crypto.randomUUID() });
  if (rules && !rules.ok) errors.push(...rules.errors.map((e) => (e.ruleIndex === undefined ? { ...e, field: e.field || 'rules' } : e)));

  if (errors.length > 0 || !settings.ok || !rules?.ok) return { ok: false, errors };
  return { ok: true, value: { rules: rules.value, settings: settings.value } };
}

/** A file of another kind or version is reported as such, not as a pile of field errors. */
function checkHeader(top: Record<string, unknown>): FieldError[] {
  const format = own(top, 'format');
  if (format !== RULES_FILE_FORMAT) {
    return [
      format === undefined
        ? fieldError('format', 'REQUIRED', `is required ("${RULES_FILE_FORMAT}"); this is not a Portfleet rules file`)
        : fieldError('format', 'INVALID_FORMAT', `must be "${RULES_FILE_FORMAT}"; this is not a Portfleet rules file`),
    ];
  }
  const version = own(top, 'version');
  if (version === undefined) return [fieldError('version', 'REQUIRED', `is required (this build reads version ${RULES_FILE_VERSION})`)];
  if (version !== RULES_FILE_VERSION) {
    return [fieldError('version', 'UNSUPPORTED_VERSION', `${JSON.stringify(version)} is not supported (this build reads version ${RULES_FILE_VERSION})`)];
  }
  return [];
}

/** JSON.parse for the value; the tolerant parser only to say where a syntax error is. */
function parseJson(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const problems: ParseError[] = [];
    parseTolerant(text, problems, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = problems[0];
    const where = first ? ` at ${position(text, first.offset)}: ${printParseErrorCode(first.error)}` : `: ${(error as Error).message}`;
    return { ok: false, errors: [fieldError('', 'INVALID_JSON', `is not valid JSON${where}`)] };
  }
}

function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column} (offset ${offset})`;
}
