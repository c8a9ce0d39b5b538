'use client';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { createRuleSet } from '@/api/rule-sets';
import type { RuleSetSummary } from '@/api/types';
import { ErrorNotice } from '@/ui/error-notice';
import styles from './rule-list.module.css';

/** Switch between rule sets, or create a new (empty) one. */
export function RuleSetPicker({ sets, current, canEdit }: { sets: RuleSetSummary[]; current: string; canEdit: boolean }) {
  const router = useRouter();
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    try {
      const created = await createRuleSet(name.trim());
      setCreating(false);
      setName('');
      router.push(`/rules/${created.id}`);
    } catch (e) {
      setError(e);
    }
  }

  return (
    <div className={styles.toolbar}>
      <select className="select" style={{ width: 'auto' }} aria-label="Rule set" value={current}
        onChange={(e) => router.push(`/rules/${e.target.value}`)}>
        {sets.map((s) => <option key={s.id} value={s.id}>{s.name} (v{s.latestVersion})</option>)}
      </select>
      {canEdit && !creating && <button type="button" className="btn btn-small" onClick={() => setCreating(true)}>New rule set</button>}
      {creating && (
        <form className={styles.toolbar} onSubmit={create} aria-label="New rule set">
          <input className="input" style={{ width: 180 }} aria-label="Rule set name" placeholder="name" value={name}
            onChange={(e) => setName(e.target.value)} required autoFocus />
          <button type="submit" className="btn btn-small btn-primary">Create</button>
          <button type="button" className="btn btn-small" onClick={() => setCreating(false)}>Cancel</button>
        </form>
      )}
      {error !== undefined && <ErrorNotice error={error} />}
    </div>
  );
}
