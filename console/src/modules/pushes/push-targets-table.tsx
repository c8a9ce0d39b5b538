import Link from 'next/link';
import type { PushTargetRow, RuleError } from '@/api/types';
import { formatAgo } from '@/format/time';
import { PushStateBadge } from './push-state-badge';
import styles from './pushes.module.css';

/** "rule 2 · selector.localAddress: name does not resolve" (whole-set problems have no rule). */
function describeRuleError(e: RuleError): string {
  const where = [typeof e.ruleIndex === 'number' && e.ruleIndex >= 0 ? `rule ${e.ruleIndex + 1}` : '', e.field].filter(Boolean).join(' · ');
  return where ? `${where}: ${e.message}` : e.message;
}

/** One page of a push's targets: the agent (name, host, presence), its state, wave and reasons. */
export function PushTargetsTable({ targets, staged }: { targets: PushTargetRow[]; staged: boolean }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Push targets">
        <thead><tr><th>Agent</th><th>Presence</th><th>State</th>{staged && <th>Wave</th>}<th>Reasons</th><th>Updated</th></tr></thead>
        <tbody>
          {targets.map((t) => (
            <tr key={t.agentId} data-agent-id={t.agentId}>
              <td>
                <Link href={`/agents/${t.agentId}`}>{t.name}</Link>
                <div className="hint mono">{t.hostname}</div>
              </td>
              <td data-testid="target-presence">
                {t.retired ? <span className="badge">retired</span> : t.online ? <span className="badge badge-ok">online</span> : <span className="badge">offline</span>}
              </td>
              <td><PushStateBadge state={t.state} /></td>
              {staged && <td>{t.wave + 1}</td>}
              <td>
                {t.errors.length === 0 ? <span className="muted">—</span> : (
                  <ul className={styles.reasons}>
                    {t.errors.map((e, i) => <li key={i}>{describeRuleError(e)}</li>)}
                  </ul>
                )}
              </td>
              <td className="nowrap">{formatAgo(t.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
