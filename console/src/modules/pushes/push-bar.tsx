import type { PushCounts } from './push-counts';
import { PUSH_STATES } from './push-counts';
import styles from './pushes.module.css';

/** A stacked bar of the targets' states, with the counts beside it (or as a tooltip when compact). */
export function PushBar({ counts, compact = false }: { counts: PushCounts; compact?: boolean }) {
  const done = counts.total - counts.waiting - counts.pending - counts.delivered;
  const summary = PUSH_STATES.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`).join(' · ');
  return (
    <div className={styles.progress} style={compact ? { gap: 4 } : undefined}>
      <div className={styles.bar} role="progressbar" aria-label="Push progress" title={summary}
        aria-valuemin={0} aria-valuemax={counts.total} aria-valuenow={done}>
        {PUSH_STATES.map((state) =>
          counts[state] > 0 ? (
            <span key={state} className={styles[state]} style={{ width: `${(100 * counts[state]) / counts.total}%` }} />
          ) : null,
        )}
      </div>
      {compact ? <span className="hint">{summary || 'no targets'}</span> : (
        <dl className={styles.counts}>
          {PUSH_STATES.filter((s) => counts[s] > 0 || ['applied', 'delivered', 'pending', 'failed'].includes(s)).map((state) => (
            <div key={state} className={styles.count}>
              <dt><span className={`${styles.swatch} ${styles[state]}`} />{state}</dt>
              <dd data-testid={`count-${state}`}>{counts[state]}</dd>
            </div>
          ))}
          <div className={styles.count}><dt>total</dt><dd data-testid="count-total">{counts.total}</dd></div>
        </dl>
      )}
    </div>
  );
}
