import type { RuleSetDiff } from '@/api/types';
import { summarizeRule } from './summarize-rule';
import styles from './history.module.css';

const show = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

/** What changed between two versions: rules added, removed, changed (field by field), moved, settings. */
export function DiffView({ diff }: { diff: RuleSetDiff }) {
  const empty = diff.added.length + diff.removed.length + diff.changed.length + diff.moved.length + diff.settings.length === 0;
  if (empty) return <p className="muted" data-testid="diff-empty">v{diff.from} and v{diff.to} hold the same rules and settings.</p>;
  return (
    <ul className={styles.diff} aria-label={`Changes from v${diff.from} to v${diff.to}`}>
      {diff.added.map((a) => (
        <li key={`a-${a.rule.id}`} className={styles.added}>+ rule {a.index + 1} added: <strong>{a.rule.description || '(no description)'}</strong> <span className="mono">{summarizeRule(a.rule)}</span></li>
      ))}
      {diff.removed.map((r) => (
        <li key={`r-${r.rule.id}`} className={styles.removed}>− rule {r.index + 1} removed: <strong>{r.rule.description || '(no description)'}</strong> <span className="mono">{summarizeRule(r.rule)}</span></li>
      ))}
      {diff.changed.map((c) => (
        <li key={`c-${c.ruleId}`} className={styles.changed}>
          ~ rule {c.toIndex + 1} changed
          <ul>{c.changes.map((f) => <li key={f.field}><span className="mono">{f.field}</span>: {show(f.from)} → {show(f.to)}</li>)}</ul>
        </li>
      ))}
      {diff.moved.map((m) => (
        <li key={`m-${m.ruleId}`} className={styles.moved}>↕ rule moved from position {m.fromIndex + 1} to {m.toIndex + 1}</li>
      ))}
      {diff.settings.map((s) => (
        <li key={`s-${s.field}`} className={styles.changed}>~ setting <span className="mono">{s.field}</span>: {show(s.from)} → {show(s.to)}</li>
      ))}
    </ul>
  );
}
