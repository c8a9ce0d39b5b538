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
  /** Drag and drop: this row was picked up / something is dragged over it / dropped on it. */
  drag: { dragging: boolean; over: boolean; onStart: () => void; onOver: () => void; onDrop: () => void; onEnd: () => void };
  /** Warning texts in the list's numbering. */
  messages: string[];
  onEdit: () => void;
  onDelete: () => void;
}

export function RuleRow({ rule, index, count, warnings, busy, canEdit, onToggle, onMove, onEdit, onDelete, drag, messages }: Props) {
  // Delete asks twice, inline: a second click within a few seconds confirms.
  const [confirming, setConfirming] = useState(false);
  useEffect(() => {
    if (!confirming) return;
    const timer = setTimeout(() => setConfirming(false), 4000);
    return () => clearTimeout(timer);
  }, [confirming]);

  const title = rule.description || `Rule ${index + 1}`;
  return (
    <li
      className={[styles.row, rule.enabled ? '' : styles.disabled, drag.dragging ? styles.dragging : '', drag.over ? styles.over : ''].filter(Boolean).join(' ')}
      data-rule-id={rule.id} aria-label={title}
      draggable={canEdit && !busy}
      onDragStart={(e) => { e.dataTransfer.effectAllowed = 'move'; e.dataTransfer.setData('text/plain', rule.id); drag.onStart(); }}
      onDragOver={(e) => { e.preventDefault(); drag.onOver(); }}
      onDrop={(e) => { e.preventDefault(); drag.onDrop(); }}
      onDragEnd={drag.onEnd}
    >
      {canEdit ? (
        <button type="button" className={styles.handle} data-handle disabled={busy}
          aria-label={`Reorder ${title}`} aria-describedby="reorder-help" title="Drag, or focus and use the arrow keys"
          onKeyDown={(e) => {
            if (e.key === 'ArrowUp' && index > 0) { e.preventDefault(); onMove(-1); }
            if (e.key === 'ArrowDown' && index < count - 1) { e.preventDefault(); onMove(1); }
          }}>
          <span className={styles.index}>{index + 1}</span>
        </button>
      ) : (
        <span className={styles.index}>{index + 1}</span>
      )}
      <input type="checkbox" checked={rule.enabled} disabled={!canEdit || busy} onChange={onToggle}
        aria-label={`Enable ${title}`} />
      <div className={styles.body}>
        <div className={styles.title}>
          {rule.description || <span className="muted">(no description)</span>}
          {!rule.enabled && <span className="badge badge-plain">disabled</span>}
          {rule.activityMonitoring && <span className="badge badge-plain" title="Activity monitoring is on">monitored</span>}
        </div>
        <div className={styles.summary}>{summarizeRule(rule)}</div>
        {warnings.map((w, i) => (
          <div key={`${w.code}-${w.field}-${i}`} className={styles.warning} role="note" data-code={w.code}>⚠ {messages[i]}</div>
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
