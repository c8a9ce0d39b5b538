'use client';
import { useEffect, useState } from 'react';
import type { Rule, RuleError } from '@/api/types';
import { summarizeRule } from './summarize-rule';
import styles from './rule-list.module.css';

interface Props {
  rule: Rule;
  index: number;
  count: number;
  warnings: RuleError[];
  busy: boolean;
  canEdit: boolean;
  onToggle: () => void;
  onMove: (delta: -1 | 1) => void;
  onEdit: () => void;
  onDelete: () => void;
}

export function RuleRow({ rule, index, count, warnings, busy, canEdit, onToggle, onMove, onEdit, onDelete }: Props) {
  // Delete asks twice, inline: a second click within a few seconds confirms.
  const [confirming, setConfirming] = useState(false);
  useEffect(() => {
    if (!confirming) return;
    const timer = setTimeout(() => setConfirming(false), 4000);
    return () => clearTimeout(timer);
  }, [confirming]);

  const title = rule.description || `Rule ${index + 1}`;
  return (
    <li className={rule.enabled ? styles.row : `${styles.row} ${styles.disabled}`} data-rule-id={rule.id} aria-label={title}>
      <span className={styles.index}>{index + 1}</span>
      <input type="checkbox" checked={rule.enabled} disabled={!canEdit || busy} onChange={onToggle}
        aria-label={`Enable ${title}`} />
      <div className={styles.body}>
        <div className={styles.title}>
          {rule.description || <span className="muted">(no description)</span>}
          {!rule.enabled && <span className="badge badge-plain">disabled</span>}
          {rule.activityMonitoring && <span className="badge badge-plain" title="Activity monitoring is on">monitored</span>}
        </div>
        <div className={styles.summary}>{summarizeRule(rule)}</div>
        {warnings.map((w) => (
          <div key={`${w.code}-${w.field}-${w.message}`} className={styles.warning} role="note">⚠ {w.message}</div>
        ))}
      </div>
      {canEdit && (
        <div className={styles.actions}>
          <button type="button" className="icon-btn" onClick={() => onMove(-1)} disabled={busy || index === 0}
            aria-label={`Move ${title} up`} title="Move up">↑</button>
          <button type="button" className="icon-btn" onClick={() => onMove(1)} disabled={busy || index === count - 1}
            aria-label={`Move ${title} down`} title="Move down">↓</button>
          <button type="button" className="btn btn-small" onClick={onEdit} disabled={busy}>Edit</button>
          {confirming ? (
            <button type="button" className="btn btn-small btn-danger" onClick={onDelete} disabled={busy}>Confirm delete</button>
          ) : (
            <button type="button" className="btn btn-small btn-danger" onClick={() => setConfirming(true)} disabled={busy}>Delete</button>
          )}
        </div>
      )}
    </li>
  );
}
