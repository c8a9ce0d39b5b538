import type { Agent } from '@/api/types';
import { formatAgo } from '@/format/time';
import { driftOf } from './drift';

export function OnlineBadge({ agent }: { agent: Agent }) {
  return agent.online ? (
    <span className="badge badge-ok">online</span>
  ) : (
    <span className="badge" title={`last seen ${formatAgo(agent.lastSeenAt)}`}>offline</span>
  );
}

/** "v3 / v4": what the agent applied against what it was last told to apply. */
export function VersionPair({ agent }: { agent: Agent }) {
  const show = (v: number | null) => (v === null ? '—' : `v${v}`);
  return (
    <span className="mono nowrap" data-testid="applied-version">
      {show(agent.appliedVersion)}
      <span className="muted"> / {show(agent.desiredVersion)}</span>
    </span>
  );
}

export function DriftBadge({ agent }: { agent: Agent }) {
  switch (driftOf(agent)) {
    case 'in-sync':
      return <span className="badge badge-ok">in sync</span>;
    case 'drift':
      return <span className="badge badge-warn">drift</span>;
    case 'none':
      return <span className="badge badge-plain">no push yet</span>;
  }
}

export function EditionBadge({ agent }: { agent: Agent }) {
  if (!agent.edition) return <span className="muted">—</span>;
  return <span className="badge badge-plain" style={{ textTransform: 'capitalize' }} data-testid="agent-edition">{agent.edition}</span>;
}
