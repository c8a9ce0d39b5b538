import { formatCount } from '@/format/bytes';
import type { PushCounts } from './push-counts';
import { matchingTargets, TARGET_PAGE_SIZES, TARGET_VIEWS } from './push-target-query';
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

interface PagerProps {
  page: number;
  limit: number;
  shown: number;
  matching: number;
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  onLimit: (limit: number) => void;
}

/** Below the targets: which these are, Previous / Next (keyset pages), the page size. */
export function PushTargetPager({ page, limit, shown, matching, hasPrevious, hasNext, onPrevious, onNext, onLimit }: PagerProps) {
  const from = (page - 1) * limit + 1;
  return (
    <nav className={styles.pager} aria-label="Pages">
      <span className="muted" data-testid="targets-range">
        {shown === 0 ? 'No targets on this page' : `${formatCount(from)}–${formatCount(from + shown - 1)} of ${formatCount(matching)}`}
        {` · page ${formatCount(page)} of ${formatCount(Math.max(1, Math.ceil(matching / limit)))}`}
      </span>
      <label className={styles.check}>
        Per page
        <select className="select" aria-label="Targets per page" value={limit} onChange={(e) => onLimit(Number(e.target.value))}>
          {TARGET_PAGE_SIZES.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
      </label>
      <button type="button" className="btn btn-small" onClick={onPrevious} disabled={!hasPrevious}>Previous</button>
      <button type="button" className="btn btn-small" onClick={onNext} disabled={!hasNext}>Next</button>
    </nav>
  );
}
