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
            <th>Hostname</th>
            <th>Platform</th>
            <th>Version</th>
            <th>Status</th>
            <th>Applied / desired</th>
            <th>Drift</th>
            <th className="num">Activity</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((agent) => {
            const sum = activity.get(agent.id);
            return (
              <tr key={agent.id} data-agent-id={agent.id}>
                <td><Link href={`/agents/${agent.id}`}><strong>{agent.name}</strong></Link></td>
                <td className="mono">{agent.hostname}</td>
                <td>{agent.platform}</td>
                <td className="mono">{agent.version}</td>
                <td><OnlineBadge agent={agent} /></td>
                <td><VersionPair agent={agent} /></td>
                <td><DriftBadge agent={agent} /></td>
                <td className="num nowrap">
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
