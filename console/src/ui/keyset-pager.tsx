import { formatCount } from '@/format/bytes';
import styles from './keyset-pager.module.css';

interface Props {
  /** What a row is, plural and lower-case ("agents"): the empty-page text and the size menu's label. */
  noun: string;
  /** The range text's test id (the e2e tests read it). */
  rangeTestId: string;
  sizes: readonly number[];
  /** 1-based number of the shown page. */
  page: number;
  limit: number;
  shown: number;
  /** How many rows the filter keeps (from the summary, not counted from pages). */
  matching: number;
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  onLimit: (limit: number) => void;
}

/** Below a keyset-paged table: which rows these are, the page size, Previous / Next. */
export function KeysetPager({ noun, rangeTestId, sizes, page, limit, shown, matching, hasPrevious, hasNext, onPrevious, onNext, onLimit }: Props) {
  const from = (page - 1) * limit + 1;
  return (
    <nav className={styles.pager} aria-label="Pages">
      <span className="muted" data-testid={rangeTestId}>
        {shown === 0 ? `No ${noun} on this page` : `${formatCount(from)}–${formatCount(from + shown - 1)} of ${formatCount(matching)}`}
        {` · page ${formatCount(page)} of ${formatCount(Math.max(1, Math.ceil(matching / limit)))}`}
      </span>
      <label className={styles.size}>
        Per page
        <select className="select" aria-label={`${noun[0]!.toUpperCase()}${noun.slice(1)} per page`} value={limit} onChange={(e) => onLimit(Number(e.target.value))}>
          {sizes.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
      </label>
      <button type="button" className="btn btn-small" onClick={onPrevious} disabled={!hasPrevious}>Previous</button>
      <button type="button" className="btn btn-small" onClick={onNext} disabled={!hasNext}>Next</button>
    </nav>
  );
}
