import { ErrorNotice } from './error-notice';

/**
 * A keyset-paged view's failed load. `onFirstPage` (given while a cursor is in the URL) offers the
 * way out when a link kept from long ago names a cursor the controller no longer reads.
 */
export function PagedLoadError({ error, retry, onFirstPage }: { error: unknown; retry: () => void; onFirstPage?: () => void }) {
  return (
    <div style={{ marginBottom: 16 }}>
      <ErrorNotice error={error} retry={retry} />
      {onFirstPage && <button type="button" className="btn btn-small" style={{ marginTop: 8 }} onClick={onFirstPage}>First page</button>}
    </div>
  );
}
