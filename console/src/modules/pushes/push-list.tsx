'use client';
import Link from 'next/link';
import { listPushes } from '@/api/pushes';
import { listRuleSets } from '@/api/rule-sets';
import { formatTime } from '@/format/time';
import { BUSY_INTERVAL_MS, useLive } from '@/modules/live/use-live';
import { useSession } from '@/modules/session/session-provider';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { PushBar } from './push-bar';
import { countsOf } from './push-counts';
import { PushStatusBadge } from './push-state-badge';

async function loadPushes() {
  const [pushes, ruleSets] = await Promise.all([listPushes(), listRuleSets()]);
  return { pushes, names: new Map(ruleSets.map((s) => [s.id, s.name])) };
}

/** Every push, newest first, with its status and live counts. */
export function PushList() {
  const { canEdit } = useSession();
  // A push to thousands of agents sends events all the time: reload at most about once a second.
  const state = useLive(loadPushes, ['push'], [], undefined, { minIntervalMs: BUSY_INTERVAL_MS });
  const data = state.data;
  const newPush = canEdit && <Link className="btn btn-primary" href="/pushes/new">New push</Link>;

  return (
    <>
      <PageHeader title="Pushes" subtitle="Rule-set versions sent to the fleet, newest first" actions={newPush} />
      {state.error !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={state.error} retry={() => void state.refresh()} /></div>}
      <div className="card">
        {!data ? (state.loading && <Loading />) : data.pushes.length === 0 ? (
          <EmptyState title="No pushes yet" action={newPush}>Edit a rule set, then push a version to agents, groups or labels.</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label="Pushes">
              <thead><tr><th>Push</th><th>Status</th><th style={{ minWidth: 200 }}>Progress</th><th className="hide-sm">By</th><th className="hide-sm">Started</th></tr></thead>
              <tbody>
                {data.pushes.map((p) => {
                  const counts = countsOf(p.counts);
                  return (
                    <tr key={p.id} data-push-id={p.id}>
                      <td>
                        <Link href={`/pushes/${p.id}`}><strong>{data.names.get(p.ruleSetId) ?? p.ruleSetId} v{p.version}</strong></Link>
                        {p.rollbackOf && <span className="badge badge-plain" style={{ marginLeft: 6 }}>rollback</span>}
                        {p.rollout && <span className="badge badge-plain" style={{ marginLeft: 6 }}>staged</span>}
                      </td>
                      <td><PushStatusBadge status={p.status} /></td>
                      <td><PushBar counts={counts} compact /></td>
                      <td className="hide-sm mono">{p.createdBy ?? '—'}</td>
                      <td className="hide-sm nowrap">{formatTime(p.createdAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </>
  );
}
