import { describeError } from '@/api/api-error';

/** A failed load or action, said plainly; `retry` offers another try. */
export function ErrorNotice({ error, retry }: { error: unknown; retry?: () => void }) {
  if (!error) return null;
  return (
    <div className="notice notice-error" role="alert">
      {describeError(error)}
      {retry && (
        <>
          {' '}
          <button type="button" className="btn btn-small" onClick={retry}>Retry</button>
        </>
      )}
    </div>
  );
}
