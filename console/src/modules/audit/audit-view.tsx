'use client';
import { useState } from 'react';
import { listAudit, type AuditFilter } from '@/api/audit';
import { usePolled } from '@/api/use-polled';
import { formatTime } from '@/format/time';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import styles from './audit.module.css';

/** Short JSON of a before/after value, full text on hover. */
function Snapshot({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  const text = JSON.stringify(value);
  return <code className={styles.snapshot} title={text}>{text.length > 120 ? `${text.slice(0, 120)}…` : text}</code>;
}

/** Every change, newest first, filterable by action, actor and target prefix. */
export function AuditView() {
  const [filter, setFilter] = useState<AuditFilter>({});
  const [applied, setApplied] = useState<AuditFilter>({});
  const state = usePolled(() => listAudit(applied), 10_000, [JSON.stringify(applied)]);
  const entries = state.data;

  return (
    <>
      <PageHeader title="Audit log" subtitle="Every change to rules, pushes, agents, licenses, users and tokens" />
      <form className={`card ${styles.filters}`} role="search" onSubmit={(e) => { e.preventDefault(); setApplied(filter); }}>
        <input className="input" aria-label="Action" placeholder="action (exact)" value={filter.action ?? ''} onChange={(e) => setFilter({ ...filter, action: e.target.value })} />
        <input className="input" aria-label="Actor" placeholder="actor, e.g. user:admin" value={filter.actor ?? ''} onChange={(e) => setFilter({ ...filter, actor: e.target.value })} />
        <input className="input" aria-label="Target" placeholder="target prefix, e.g. agent:" value={filter.target ?? ''} onChange={(e) => setFilter({ ...filter, target: e.target.value })} />
        <button type="submit" className="btn">Filter</button>
      </form>
      {state.error !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={state.error} retry={() => void state.refresh()} /></div>}
      <div className="card">
        {!entries ? (state.loading && <Loading />) : entries.length === 0 ? (
          <EmptyState title="Nothing recorded">No entry matches.</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label="Audit log">
              <thead><tr><th>When</th><th>Actor</th><th>Action</th><th>Target</th><th className="hide-sm">Before</th><th className="hide-sm">After</th></tr></thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id}>
                    <td className="nowrap">{formatTime(e.createdAt)}</td>
                    <td className="mono">{e.actor}</td>
                    <td><span className="badge badge-plain">{e.action}</span></td>
                    <td className="mono">{e.target}</td>
                    <td className="hide-sm"><Snapshot value={e.before} /></td>
                    <td className="hide-sm"><Snapshot value={e.after} /></td>
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
