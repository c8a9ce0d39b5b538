'use client';
import { useState, type FormEvent } from 'react';
import type { Direction, NewRule, Protocol, Reflection } from '@/api/types';
import type { Gate } from './edition-gates';
import { EndpointSection } from './endpoint-section';
import { problemsOf, type SaveProblems } from './field-errors';
import { ruleFromDraft, type RuleDraft } from './rule-draft';
import { ENDPOINT_KEYS } from './rule-fields';
import styles from './rule-form.module.css';

const KNOWN_FIELDS = new Set([
  'description', 'enabled', 'activityMonitoring',
  'selector.direction', 'selector.protocol', 'forwardAs.reflection', 'forwardAs.clone',
  ...ENDPOINT_KEYS.flatMap((key) => [`selector.${key}`, `forwardAs.${key}`]),
]);

interface Props {
  title: string;
  initial: RuleDraft;
  onSave: (rule: NewRule) => Promise<void>;
  onCancel: () => void;
  adapterOptions: readonly string[];
  gate: Gate;
}

/** Add/edit one rule: a Traffic Selector and a Forward As section; the controller judges it. */
export function RuleForm({ title, initial, onSave, onCancel, adapterOptions, gate }: Props) {
  const descriptionGate = gate('descriptions');
  const cloneGate = gate('cloneAndReflection');
  const [draft, setDraft] = useState(initial);
  const [problems, setProblems] = useState<SaveProblems>({ byField: {}, general: [] });
  const [saving, setSaving] = useState(false);
  const set = <K extends keyof RuleDraft>(key: K, value: RuleDraft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const err = problems.byField;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    try {
      await onSave(ruleFromDraft(draft));
    } catch (error) {
      setProblems(problemsOf(error, KNOWN_FIELDS));
      setSaving(false);
    }
  }

  return (
    <form className={`card ${styles.form}`} onSubmit={submit} aria-label={title} noValidate>
      <div className={styles.head}>
        <h2>{title}</h2>
        <div className={styles.flags}>
          <label className={styles.toggle}>
            <input type="checkbox" checked={draft.enabled} onChange={(e) => set('enabled', e.target.checked)} /> Enabled
          </label>
          <label className={styles.toggle}>
            <input type="checkbox" checked={draft.activityMonitoring} onChange={(e) => set('activityMonitoring', e.target.checked)} />
            Activity monitoring
          </label>
        </div>
      </div>
      {problems.general.length > 0 && (
        <div className="notice notice-error" role="alert">
          {problems.general.map((message) => <div key={message}>{message}</div>)}
        </div>
      )}
      <label className="field">
        <span>Description</span>
        <input className="input" value={draft.description} placeholder="e.g. Web server on 8080"
          disabled={descriptionGate !== null && draft.description === ''}
          aria-invalid={err.description ? true : undefined} onChange={(e) => set('description', e.target.value)} />
        {descriptionGate && <span className="hint" data-testid="gate-reason">🔒 {descriptionGate}</span>}
        {err.description && <span className="field-error" role="alert">{err.description}</span>}
      </label>
      <div className={styles.sections}>
        <EndpointSection legend="Traffic selector" path="selector" fields={draft.selector} errors={err}
          adapterOptions={adapterOptions} gate={gate} onChange={(fields) => set('selector', fields)}>
          <div className={styles.required}>
            <label className="field">
              <span>Direction</span>
              <select className="select" value={draft.direction}
                onChange={(e) => set('direction', e.target.value as Direction)}>
                <option value="inbound">Inbound</option>
                <option value="outbound">Outbound</option>
              </select>
              {err['selector.direction'] && <span className="field-error" role="alert">{err['selector.direction']}</span>}
            </label>
            <label className="field">
              <span>Protocol</span>
              <select className="select" value={draft.protocol} onChange={(e) => set('protocol', e.target.value as Protocol)}>
                <option value="tcp">TCP</option>
                <option value="udp">UDP</option>
              </select>
              {err['selector.protocol'] && <span className="field-error" role="alert">{err['selector.protocol']}</span>}
            </label>
          </div>
        </EndpointSection>
        <EndpointSection legend="Forward as" path="forwardAs" fields={draft.forwardAs} errors={err}
          adapterOptions={adapterOptions} gate={gate} onChange={(fields) => set('forwardAs', fields)}>
          <div className={styles.required}>
            <label className="field">
              <span>Reflection</span>
              <select className="select" value={draft.reflection} disabled={cloneGate !== null && draft.reflection === 'none'} onChange={(e) => set('reflection', e.target.value as Reflection)}>
                <option value="none">None</option>
                <option value="mirror">Mirror (swap source and destination)</option>
                <option value="route">Route (send back unchanged)</option>
              </select>
              {err['forwardAs.reflection'] && <span className="field-error" role="alert">{err['forwardAs.reflection']}</span>}
            </label>
            <label className={`${styles.toggle} ${styles.cloneToggle}`}>
              <input type="checkbox" checked={draft.clone} disabled={cloneGate !== null && !draft.clone} onChange={(e) => set('clone', e.target.checked)} />
              Clone (send a transformed copy, let the original through)
            </label>
            {cloneGate && <span className="hint" data-testid="gate-reason" style={{ gridColumn: '1 / -1' }}>🔒 {cloneGate}</span>}
            {err['forwardAs.clone'] && <span className="field-error" role="alert">{err['forwardAs.clone']}</span>}
          </div>
        </EndpointSection>
      </div>
      <div className={styles.buttons}>
        <button type="button" className="btn" onClick={onCancel} disabled={saving}>Cancel</button>
        <button type="submit" className="btn btn-primary" disabled={saving}>{saving ? 'Saving…' : 'Save rule'}</button>
      </div>
    </form>
  );
}
