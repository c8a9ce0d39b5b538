'use client';
import Link from 'next/link';
import { Fragment, useState } from 'react';
import type { Agent } from '@/api/types';
import { formatBytes, formatCount } from '@/format/bytes';
import { ActivityLed } from '@/modules/activity/activity-led';
import type { ActivitySum } from '@/modules/activity/activity-sums';
import { DriftBadge, EditionBadge, OnlineBadge, VersionPair } from './agent-badges';
import { AgentTagsEditor, TagChips } from './agent-tags-editor';

interface Props {
  agents: Agent[];
  activity: Map<string, ActivitySum>;
  canEdit: boolean;
  onChanged: () => void;
}

export function AgentsTable({ agents, activity, canEdit, onChanged }: Props) {
  const [editing, setEditing] = useState<string | null>(null);
  const columns = canEdit ? 11 : 10;
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Agents">
        <thead>
          <tr>
            <th>Name</th>
            <th className="hide-sm">Hostname</th>
            <th className="hide-sm">Platform</th>
            <th className="hide-sm">Version</th>
            <th className="hide-sm">Edition</th>
            <th>Status</th>
            <th>Applied / desired</th>
            <th className="hide-sm">Drift</th>
            <th className="hide-sm">Groups · labels</th>
            <th className="num hide-sm">Activity</th>
            {canEdit && <th className="hide-sm"><span className="visually-hidden">Actions</span></th>}
          </tr>
        </thead>
        <tbody>
          {agents.map((agent) => {
            const sum = activity.get(agent.id);
            return (
              <Fragment key={agent.id}>
                <tr data-agent-id={agent.id}>
                  <td><Link href={`/agents/${agent.id}`}><strong>{agent.name}</strong></Link></td>
                  <td className="mono hide-sm">{agent.hostname}</td>
                  <td className="hide-sm">{agent.platform}</td>
                  <td className="mono hide-sm">{agent.version}</td>
                  <td className="hide-sm"><EditionBadge agent={agent} /></td>
                  <td><OnlineBadge agent={agent} /></td>
                  <td><VersionPair agent={agent} /></td>
                  <td className="hide-sm"><DriftBadge agent={agent} /></td>
                  <td className="hide-sm" data-testid="agent-tags"><TagChips agent={agent} /></td>
                  <td className="num nowrap hide-sm" data-testid="agent-activity">
                    <ActivityLed lastHitAt={sum?.lastHitAt ?? null} />{' '}
                    {sum ? `${formatCount(sum.packets)} pkts · ${formatBytes(sum.bytes)}` : <span className="muted">—</span>}
                  </td>
                  {canEdit && (
                    <td className="hide-sm">
                      <button type="button" className="btn btn-small" aria-label={`Edit tags of ${agent.name}`}
                        onClick={() => setEditing(editing === agent.id ? null : agent.id)}>Edit</button>
                    </td>
                  )}
                </tr>
                {editing === agent.id && (
                  <tr>
                    <td colSpan={columns}>
                      <AgentTagsEditor agent={agent} onCancel={() => setEditing(null)}
                        onSaved={() => { setEditing(null); onChanged(); }} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
