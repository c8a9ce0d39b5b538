import Link from 'next/link';
import type { Agent } from '@/api/types';
import { formatBytes, formatCount } from '@/format/bytes';
import { ActivityLed } from '@/modules/activity/activity-led';
import type { ActivitySum } from '@/modules/activity/activity-sums';
import { DriftBadge, OnlineBadge, VersionPair } from './agent-badges';

export function AgentsTable({ agents, activity }: { agents: Agent[]; activity: Map<string, ActivitySum> }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Agents">
        <thead>
          <tr>
            <th>Name</th>
            <th className="hide-sm">Hostname</th>
            <th className="hide-sm">Platform</th>
            <th className="hide-sm">Version</th>
            <th>Status</th>
            <th>Applied / desired</th>
            <th className="hide-sm">Drift</th>
            <th className="num hide-sm">Activity</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((agent) => {
            const sum = activity.get(agent.id);
            return (
              <tr key={agent.id} data-agent-id={agent.id}>
                <td><Link href={`/agents/${agent.id}`}><strong>{agent.name}</strong></Link></td>
                <td className="mono hide-sm">{agent.hostname}</td>
                <td className="hide-sm">{agent.platform}</td>
                <td className="mono hide-sm">{agent.version}</td>
                <td><OnlineBadge agent={agent} /></td>
                <td><VersionPair agent={agent} /></td>
                <td className="hide-sm"><DriftBadge agent={agent} /></td>
                <td className="num nowrap hide-sm" data-testid="agent-activity">
                  <ActivityLed lastHitAt={sum?.lastHitAt ?? null} />{' '}
                  {sum ? `${formatCount(sum.packets)} pkts · ${formatBytes(sum.bytes)}` : <span className="muted">—</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
