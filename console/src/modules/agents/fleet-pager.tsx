import { formatCount } from '@/format/bytes';
import { PAGE_SIZES } from './fleet-query';
import styles from './fleet.module.css';

interface Props {
  /** 1-based number of the shown page. */
  page: number;
  limit: number;
  shown: number;
  /** How many agents the filter keeps (the summary's `matching`). */
  matching: number;
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  onLimit: (limit: number) => void;
}

/** Below the fleet table: which agents these are, Previous / Next (keyset pages), the page size. */
export function FleetPager({ page, limit, shown, matching, hasPrevious, hasNext, onPrevious, onNext, onLimit }: Props) {
  const from = (page - 1) * limit + 1;
  return (
    <nav className={styles.pager} aria-label="Pages">
      <span className="muted" data-testid="fleet-range">
        {shown === 0 ? 'No agents on this page' : `${formatCount(from)}–${formatCount(from + shown - 1)} of ${formatCount(matching)}`}
        {` · page ${formatCount(page)} of ${formatCount(Math.max(1, Math.ceil(matching / limit)))}`}
      </span>
      <label className={styles.check}>
        Per page
        <select className="select" aria-label="Agents per page" value={limit} onChange={(e) => onLimit(Number(e.target.value))}>
          {PAGE_SIZES.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
      </label>
      <button type="button" className="btn btn-small" onClick={onPrevious} disabled={!hasPrevious}>Previous</button>
      <button type="button" className="btn btn-small" onClick={onNext} disabled={!hasNext}>Next</button>
    </nav>
  );
}
