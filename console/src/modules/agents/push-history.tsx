import Link from 'next/link';
import type { AgentPush } from '@/api/types';
import { formatTime } from '@/format/time';
import { PushStateBadge } from '@/modules/pushes/push-state-badge';
import { EmptyState } from '@/ui/empty-state';

/** Every push that targeted this agent, newest first, with its answer. */
export function PushHistory({ pushes, names }: { pushes: AgentPush[]; names: Map<string, string> }) {
  if (pushes.length === 0) return <EmptyState title="No pushes yet">Pushes to this agent show up here.</EmptyState>;
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Push history">
        <thead><tr><th>Push</th><th>State</th><th>Reasons</th><th className="hide-sm">By</th><th className="hide-sm">When</th></tr></thead>
        <tbody>
          {pushes.map((p) => (
            <tr key={p.pushId}>
              <td><Link href={`/pushes/${p.pushId}`}>{names.get(p.ruleSetId) ?? p.ruleSetId} v{p.version}</Link></td>
              <td><PushStateBadge state={p.state} /></td>
              <td>{p.errors.length === 0 ? <span className="muted">—</span> : (
                <ul style={{ margin: 0, paddingLeft: 18, color: 'var(--bad)', fontSize: 12.5 }}>
                  {p.errors.map((e, i) => <li key={i}>{typeof e.ruleIndex === 'number' ? `rule ${e.ruleIndex + 1} · ` : ''}{e.field ? `${e.field}: ` : ''}{e.message}</li>)}
                </ul>
              )}</td>
              <td className="hide-sm mono">{p.createdBy ?? '—'}</td>
              <td className="hide-sm nowrap">{formatTime(p.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
