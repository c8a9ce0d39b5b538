import { formatCount } from '@/format/bytes';
import type { PushCounts } from './push-counts';
import { matchingTargets, TARGET_VIEWS } from './push-target-query';
import styles from './pushes.module.css';

interface Props {
  view: string;
  counts: PushCounts;
  onView: (view: string) => void;
}

/** Above the targets: which of them to show, each view with its count from the push's summary. */
export function PushTargetFilter({ view, counts, onView }: Props) {
  return (
    <div className={styles.targetFilter}>
      <label className={styles.check}>
        Show
        <select className="select" aria-label="Target state" value={view} onChange={(e) => onView(e.target.value)}>
          {TARGET_VIEWS.map((v) => <option key={v.key} value={v.key}>{v.label} ({formatCount(matchingTargets(v.key, counts))})</option>)}
        </select>
      </label>
      {view !== 'failed' && counts.failed > 0 && (
        <button type="button" className="btn btn-small" onClick={() => onView('failed')}>Failed only ({formatCount(counts.failed)})</button>
      )}
    </div>
  );
}
