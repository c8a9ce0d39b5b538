'use client';
import { useState, type FormEvent } from 'react';
import { updateAgent } from '@/api/agents';
import type { Agent } from '@/api/types';
import { ErrorNotice } from '@/ui/error-notice';
import { parseTags } from './agent-filter';
import styles from './fleet.module.css';

/** Edits an agent's name, groups and labels in place (comma lists). */
export function AgentTagsEditor({ agent, onSaved, onCancel }: { agent: Agent; onSaved: (agent: Agent) => void; onCancel: () => void }) {
  const [name, setName] = useState(agent.name);
  const [groups, setGroups] = useState(agent.groups.join(', '));
  const [labels, setLabels] = useState(agent.labels.join(', '));
  const [error, setError] = useState<unknown>();
  const [saving, setSaving] = useState(false);

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    setError(undefined);
    try {
      onSaved(await updateAgent(agent.id, { name: name.trim(), groups: parseTags(groups), labels: parseTags(labels) }));
    } catch (e) {
      setError(e);
      setSaving(false);
    }
  }

  return (
    <form className={styles.tagsForm} onSubmit={save} aria-label={`Edit ${agent.name}`}>
      <label className="field"><span>Name</span>
        <input className="input" value={name} onChange={(e) => setName(e.target.value)} required /></label>
      <label className="field"><span>Groups</span>
        <input className="input" value={groups} placeholder="web, eu-west" onChange={(e) => setGroups(e.target.value)} /></label>
      <label className="field"><span>Labels</span>
        <input className="input" value={labels} placeholder="env:prod, rack:3" onChange={(e) => setLabels(e.target.value)} /></label>
      <div className={styles.tagsButtons}>
        <button type="button" className="btn btn-small" onClick={onCancel} disabled={saving}>Cancel</button>
        <button type="submit" className="btn btn-small btn-primary" disabled={saving}>{saving ? 'Saving…' : 'Save'}</button>
      </div>
      {error !== undefined && <div className={styles.tagsError}><ErrorNotice error={error} /></div>}
    </form>
  );
}

export function TagChips({ agent }: { agent: Agent }) {
  if (agent.groups.length + agent.labels.length === 0) return <span className="muted">—</span>;
  return (
    <span className={styles.chips}>
      {agent.groups.map((g) => <span key={`g-${g}`} className={styles.group} title="group">{g}</span>)}
      {agent.labels.map((l) => <span key={`l-${l}`} className={styles.label} title="label">{l}</span>)}
    </span>
  );
}
