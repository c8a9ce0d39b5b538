import type { DryRun } from '@/api/types';
import { DiffView } from '@/modules/rules/diff-view';
import styles from './pushes.module.css';

/** What the push would change on each agent, and the edition errors it would hit. */
export function DryRunView({ dryRun }: { dryRun: DryRun }) {
  return (
    <section className={`card ${styles.dryRun}`} aria-label="Dry run">
      <div className="card-head"><h2>Preview: v{dryRun.version} on {dryRun.agents.length} {dryRun.agents.length === 1 ? 'agent' : 'agents'}</h2></div>
      {dryRun.agents.map((a) => (
        <div key={a.agentId} className={styles.agentDiff} data-agent-id={a.agentId} data-testid="dry-run-agent">
          <div style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap', marginBottom: 6 }}>
            <strong>{a.name}</strong>
            <span className={a.online ? 'badge badge-ok' : 'badge'}>{a.online ? 'online' : 'offline'}</span>
            <span className="badge badge-plain">{a.edition ?? 'unlicensed'}</span>
            <span className="muted">runs {a.current ? `v${a.current.version}${a.current.ruleSetId !== dryRun.ruleSetId ? ' of another rule set' : ''}` : 'nothing yet'}</span>
          </div>
          {a.errors.length > 0 && (
            <ul className={styles.reasons}>{a.errors.map((e, i) => <li key={i}>{typeof e.ruleIndex === 'number' ? `rule ${e.ruleIndex + 1} · ` : ''}{e.field ? `${e.field}: ` : ''}{e.message}</li>)}</ul>
          )}
          {a.diff ? <DiffView diff={a.diff} /> : <p className="muted">No change.</p>}
        </div>
      ))}
    </section>
  );
}
