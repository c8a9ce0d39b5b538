'use client';
import { useState, type FormEvent } from 'react';
import { createApiToken, listApiTokens, revokeApiToken } from '@/api/api-tokens';
import type { CreatedApiToken } from '@/api/types';
import { usePolled } from '@/api/use-polled';
import { formatAgo, formatTime } from '@/format/time';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';

const TTL: Record<string, number | undefined> = { never: undefined, '1 day': 86_400, '30 days': 30 * 86_400, '1 year': 365 * 86_400 };

/** Tokens for scripts: create (the secret is shown once), list, revoke. */
export function ApiTokensView() {
  const state = usePolled(listApiTokens, null);
  const [name, setName] = useState('');
  const [write, setWrite] = useState(true);
  const [ttl, setTtl] = useState('never');
  const [created, setCreated] = useState<CreatedApiToken>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  async function create(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setCreated(await createApiToken(name.trim(), write ? ['read', 'write'] : ['read'], TTL[ttl]));
      setName('');
      await state.refresh();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function revoke(id: string) {
    setError(undefined);
    try {
      await revokeApiToken(id);
      await state.refresh();
    } catch (e) {
      setError(e);
    }
  }

  const tokens = state.data;
  return (
    <>
      <PageHeader title="API tokens" subtitle="Bearer tokens for scripts and the gRPC automation API; a token acts with its creator's role" />
      <form className="card card-body" style={{ display: 'flex', gap: 10, flexWrap: 'wrap', alignItems: 'end', marginBottom: 16 }} onSubmit={create} aria-label="Create API token">
        <label className="field" style={{ flex: '1 1 220px' }}><span>Name</span>
          <input className="input" value={name} onChange={(e) => setName(e.target.value)} placeholder="ci-deploy" required /></label>
        <label className="field"><span>Expires</span>
          <select className="select" value={ttl} onChange={(e) => setTtl(e.target.value)}>
            {Object.keys(TTL).map((k) => <option key={k} value={k}>{k}</option>)}
          </select></label>
        <label style={{ display: 'inline-flex', gap: 6, alignItems: 'center', height: 34 }}>
          <input type="checkbox" checked={write} onChange={(e) => setWrite(e.target.checked)} /> May change things (write)
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>Create token</button>
      </form>
      <ErrorNotice error={error} />
      {created && (
        <div className="notice notice-info" role="status" style={{ marginBottom: 16 }}>
          <div>Token <strong>{created.name}</strong> created. Copy it now: it is shown only once.</div>
          <pre className="mono" data-testid="new-token" style={{ margin: '8px 0 0', userSelect: 'all', overflowWrap: 'anywhere', whiteSpace: 'pre-wrap' }}>{created.token}</pre>
          <button type="button" className="btn btn-small" style={{ marginTop: 8 }} onClick={() => setCreated(undefined)}>I have copied it</button>
        </div>
      )}
      <div className="card">
        {!tokens ? (state.error !== undefined ? <ErrorNotice error={state.error} retry={() => void state.refresh()} /> : <Loading />) : tokens.length === 0 ? (
          <EmptyState title="No API tokens">Create one for each script or system that talks to the controller.</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label="API tokens">
              <thead><tr><th>Name</th><th>Prefix</th><th className="hide-sm">Scopes</th><th className="hide-sm">Created</th><th className="hide-sm">Last used</th><th>Expires</th><th>State</th><th /></tr></thead>
              <tbody>
                {tokens.map((t) => (
                  <tr key={t.id}>
                    <td><strong>{t.name}</strong>{t.owner && <div className="hint">{t.owner}</div>}</td>
                    <td className="mono">{t.prefix}…</td>
                    <td className="hide-sm">{t.scopes.join(', ')}</td>
                    <td className="hide-sm nowrap">{formatTime(t.createdAt)}</td>
                    <td className="hide-sm nowrap">{formatAgo(t.lastUsedAt)}</td>
                    <td className="nowrap">{t.expiresAt ? formatTime(t.expiresAt) : 'never'}</td>
                    <td>{t.revokedAt ? <span className="badge badge-bad">revoked</span> : <span className="badge badge-ok">active</span>}</td>
                    <td>{!t.revokedAt && <button type="button" className="btn btn-small btn-danger" onClick={() => void revoke(t.id)} aria-label={`Revoke ${t.name}`}>Revoke</button>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </>
  );
}
