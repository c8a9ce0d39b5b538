'use client';
import Link from 'next/link';
import { useState } from 'react';
import { listAgents } from '@/api/agents';
import { getPush } from '@/api/pushes';
import { listRuleSets } from '@/api/rule-sets';
import type { Agent, RuleError } from '@/api/types';
import { usePolled } from '@/api/use-polled';
import { formatAgo, formatTime } from '@/format/time';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { PushBar } from './push-bar';
import { countTargets, isFinished } from './push-counts';
import { PushStateBadge } from './push-state-badge';
import styles from './pushes.module.css';

/** "rule 2 · selector.localAddress: name does not resolve" (whole-set problems have no rule). */
function describeRuleError(e: RuleError): string {
  const where = [typeof e.ruleIndex === 'number' && e.ruleIndex >= 0 ? `rule ${e.ruleIndex + 1}` : '', e.field].filter(Boolean).join(' · ');
  return where ? `${where}: ${e.message}` : e.message;
}

const POLL_MS = 1000;

async function loadPush(id: string) {
  const [push, agents, ruleSets] = await Promise.all([getPush(id), listAgents(), listRuleSets()]);
  return {
    push,
    agents: new Map<string, Agent>(agents.map((a) => [a.id, a])),
    ruleSetName: ruleSets.find((s) => s.id === push.ruleSetId)?.name ?? push.ruleSetId,
  };
}

/** Live progress of one push: counts, a bar and every agent's state with its failure reasons. */
export function PushProgress({ id }: { id: string }) {
  // Poll until every agent has applied or failed; then nothing changes any more.
  const [finished, setFinished] = useState(false);
  const state = usePolled(async () => {
    const loaded = await loadPush(id);
    setFinished(isFinished(countTargets(loaded.push)));
    return loaded;
  }, finished ? null : POLL_MS, [id]);
  const data = state.data;

  if (!data) {
    return state.error !== undefined ? <ErrorNotice error={state.error} retry={() => void state.refresh()} /> : <Loading />;
  }
  const { push, agents } = data;
  const counts = countTargets(push);
  return (
    <>
      <PageHeader
        title={`Push of ${data.ruleSetName} v${push.version}`}
        subtitle={<><Link href="/pushes">← New push</Link> · started {formatTime(push.createdAt)}</>}
        actions={isFinished(counts)
          ? <span className={counts.failed > 0 ? 'badge badge-bad' : 'badge badge-ok'} data-testid="push-finished">finished</span>
          : <span className="badge badge-info">in progress</span>}
      />
      {state.error !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={state.error} /></div>}
      <div className={styles.stack}>
        <section className="card card-body"><PushBar counts={counts} /></section>
        <section className="card">
          <div className="table-wrap">
            <table className="table" aria-label="Push targets">
              <thead><tr><th>Agent</th><th>State</th><th>Reasons</th><th>Updated</th></tr></thead>
              <tbody>
                {push.targets.map((target) => {
                  const agent = agents.get(target.agentId);
                  return (
                    <tr key={target.agentId} data-agent-id={target.agentId}>
                      <td><Link href={`/agents/${target.agentId}`}>{agent?.name ?? target.agentId}</Link></td>
                      <td><PushStateBadge state={target.state} /></td>
                      <td>
                        {target.errors.length === 0 ? <span className="muted">—</span> : (
                          <ul className={styles.reasons}>
                            {target.errors.map((e, i) => (
                              <li key={i}>{describeRuleError(e)}</li>
                            ))}
                          </ul>
                        )}
                      </td>
                      <td className="nowrap">{formatAgo(target.updatedAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </>
  );
}
