import type { PushCounts } from './push-counts';
import { PUSH_STATES } from './push-counts';
import styles from './pushes.module.css';

/** A stacked bar of the targets' states, with the counts beside it. */
export function PushBar({ counts }: { counts: PushCounts }) {
  const done = counts.applied + counts.failed;
  return (
    <div className={styles.progress}>
      <div className={styles.bar} role="progressbar" aria-label="Push progress"
        aria-valuemin={0} aria-valuemax={counts.total} aria-valuenow={done}>
        {PUSH_STATES.map((state) =>
          counts[state] > 0 ? (
            <span key={state} className={styles[state]} style={{ width: `${(100 * counts[state]) / counts.total}%` }} />
          ) : null,
        )}
      </div>
      <dl className={styles.counts}>
        {PUSH_STATES.map((state) => (
          <div key={state} className={styles.count}>
            <dt><span className={`${styles.swatch} ${styles[state]}`} />{state}</dt>
            <dd data-testid={`count-${state}`}>{counts[state]}</dd>
          </div>
        ))}
        <div className={styles.count}><dt>total</dt><dd>{counts.total}</dd></div>
      </dl>
    </div>
  );
}
