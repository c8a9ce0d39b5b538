'use client';
import { useRef, useState } from 'react';
import { ApiError } from '@/api/api-error';
import { exportRuleSet, importRuleSet } from '@/api/rule-sets';
import type { RuleSet } from '@/api/types';
import { ErrorNotice } from '@/ui/error-notice';
import styles from './rule-list.module.css';

/** "Rule 3 · selector.localPort: must be 1-65535" (file-level problems name only the field). */
function describeProblem(p: { ruleIndex?: number | null; field: string; message: string }): string {
  const where = [typeof p.ruleIndex === 'number' ? `Rule ${p.ruleIndex + 1}` : '', p.field].filter(Boolean).join(' · ');
  return where ? `${where}: ${p.message}` : p.message;
}

/** Export the shown version to a file; import a file as a new version, listing every problem. */
export function ImportExport({ ruleSet, canEdit, onImported }: { ruleSet: RuleSet; canEdit: boolean; onImported: (set: RuleSet) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();

  async function exportFile() {
    setError(undefined);
    try {
      const { text, filename } = await exportRuleSet(ruleSet.id, ruleSet.version);
      const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = filename ?? `${ruleSet.name}-v${ruleSet.version}.portfleet-rules.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      setError(e);
    }
  }

  async function importFile(file: File) {
    setError(undefined);
    setDone(undefined);
    try {
      const imported = await importRuleSet(ruleSet.id, await file.text());
      setDone(`Imported ${file.name} as version ${imported.version} (${imported.rules.length} rules).`);
      onImported(imported);
    } catch (e) {
      setError(e);
    } finally {
      if (input.current) input.current.value = '';
    }
  }

  const problems = error instanceof ApiError ? error.details : [];
  return (
    <div className={styles.importExport}>
      <div className={styles.toolbar}>
        <button type="button" className="btn btn-small" onClick={() => void exportFile()}>Export</button>
        {canEdit && (
          <label className="btn btn-small">
            Import…
            <input ref={input} type="file" accept=".json,application/json" className="visually-hidden" aria-label="Import rules file"
              onChange={(e) => { const file = e.target.files?.[0]; if (file) void importFile(file); }} />
          </label>
        )}
      </div>
      {error !== undefined && (problems.length > 0 ? (
        <div className="notice notice-error" role="alert" data-testid="import-errors">
          <strong>{error instanceof Error ? error.message : 'The file was not imported'}</strong> — nothing was changed.
          <ul className={styles.problems}>
            {problems.map((p, i) => <li key={i}>{describeProblem(p)}</li>)}
          </ul>
        </div>
      ) : <ErrorNotice error={error} />)}
      {done && <div className="notice notice-info" role="status">{done}</div>}
    </div>
  );
}
