import type { Agent } from '@/api/types';
import { OnlineBadge, VersionPair } from '@/modules/agents/agent-badges';
import styles from './pushes.module.css';

interface Props {
  agents: Agent[];
  selected: ReadonlySet<string>;
  onChange: (selected: Set<string>) => void;
}

/** Checkboxes for the agents a push goes to, with shortcuts for all and all online. */
export function AgentPicker({ agents, selected, onChange }: Props) {
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    onChange(next);
  };
  return (
    <div className={styles.picker}>
      <div className={styles.pickHead}>
        <h2 style={{ margin: 0 }}>Agents</h2>
        <div style={{ display: 'flex', gap: 6 }}>
          <button type="button" className="btn btn-small" onClick={() => onChange(new Set(agents.map((a) => a.id)))}>All</button>
          <button type="button" className="btn btn-small" onClick={() => onChange(new Set(agents.filter((a) => a.online).map((a) => a.id)))}>
            Online
          </button>
          <button type="button" className="btn btn-small" onClick={() => onChange(new Set())}>None</button>
        </div>
      </div>
      {agents.map((agent) => (
        <label key={agent.id} className={styles.pickRow}>
          <input type="checkbox" checked={selected.has(agent.id)} onChange={() => toggle(agent.id)} aria-label={`Push to ${agent.name}`} />
          <span>
            <span className={styles.pickName}>{agent.name}</span> <span className="muted mono">{agent.hostname}</span>
          </span>
          <OnlineBadge agent={agent} />
          <VersionPair agent={agent} />
        </label>
      ))}
    </div>
  );
}
