'use client';
import { useState, type FormEvent } from 'react';
import { updateSettings } from '@/api/rule-sets';
import type { RuleSet, Settings } from '@/api/types';
import { problemsOf } from './field-errors';
import styles from './rule-list.module.css';

const FIELDS: { key: keyof Settings; label: string; unit: string }[] = [
  { key: 'applyDelayMs', label: 'Apply delay', unit: 'ms' },
  { key: 'tcpTimeoutS', label: 'TCP timeout', unit: 's' },
  { key: 'udpTimeoutS', label: 'UDP timeout', unit: 's' },
];
const KNOWN = new Set(FIELDS.map((f) => `settings.${f.key}`));

/** The rule set's apply delay and conversation timeouts (a save is a new version). */
export function SettingsForm({ ruleSet, canEdit, onSaved }: { ruleSet: RuleSet; canEdit: boolean; onSaved: (set: RuleSet) => void }) {
  const [values, setValues] = useState<Record<keyof Settings, string>>({
    applyDelayMs: String(ruleSet.settings.applyDelayMs),
    tcpTimeoutS: String(ruleSet.settings.tcpTimeoutS),
    udpTimeoutS: String(ruleSet.settings.udpTimeoutS),
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string[]>([]);

  async function save(event: FormEvent) {
    event.preventDefault();
    setErrors({});
    setGeneral([]);
    try {
      const settings = Object.fromEntries(FIELDS.map((f) => [f.key, /^\d+$/.test(values[f.key].trim()) ? Number(values[f.key]) : values[f.key]])) as unknown as Settings;
      onSaved(await updateSettings(ruleSet.id, settings));
    } catch (e) {
      const problems = problemsOf(e, KNOWN);
      setErrors(problems.byField);
      setGeneral(problems.general);
    }
  }

  return (
    <form className={`card card-body ${styles.panel}`} onSubmit={save} aria-label="Settings">
      <h2>Settings</h2>
      <div className={styles.toolbar} style={{ alignItems: 'flex-start' }}>
        {FIELDS.map((f) => (
          <label key={f.key} className="field" style={{ width: 160 }}>
            <span>{f.label} ({f.unit})</span>
            <input className="input" inputMode="numeric" disabled={!canEdit} value={values[f.key]}
              aria-invalid={errors[`settings.${f.key}`] ? true : undefined}
              onChange={(e) => setValues({ ...values, [f.key]: e.target.value })} />
            {errors[`settings.${f.key}`] && <span className="field-error" role="alert">{errors[`settings.${f.key}`]}</span>}
          </label>
        ))}
        {canEdit && <button type="submit" className="btn" style={{ marginTop: 22 }}>Save settings</button>}
      </div>
      {general.length > 0 && <div className="notice notice-error" role="alert">{general.join('; ')}</div>}
    </form>
  );
}
