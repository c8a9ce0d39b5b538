'use client';
import Link from 'next/link';
import { listActivity } from '@/api/activity';
import { getAgent } from '@/api/agents';
import { getRuleSetVersion } from '@/api/rule-sets';
import type { Rule } from '@/api/types';
import { usePolled } from '@/api/use-polled';
import { formatAgo } from '@/format/time';
import { RuleActivityTable } from '@/modules/activity/rule-activity-table';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { DriftBadge, OnlineBadge, VersionPair } from './agent-badges';
import styles from './agent-detail.module.css';

const POLL_MS = 2000;

async function loadAgent(id: string) {
  const [agent, totals] = await Promise.all([getAgent(id), listActivity({ agentId: id })]);
  // Name the activity after the rules the agent actually runs.
  let rules: Rule[] = [];
  if (agent.appliedRuleSetId && agent.appliedVersion !== null) {
    rules = (await getRuleSetVersion(agent.appliedRuleSetId, agent.appliedVersion)).rules;
  }
  return { agent, totals, rules };
}

export function AgentDetail({ id }: { id: string }) {
  const state = usePolled(() => loadAgent(id), POLL_MS, [id]);
  const data = state.data;

  return (
    <>
      <PageHeader
        title={data ? data.agent.name : 'Agent'}
        subtitle={<Link href="/agents">← All agents</Link>}
        actions={data && <OnlineBadge agent={data.agent} />}
      />
      {state.error !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={state.error} retry={() => void state.refresh()} /></div>}
      {!data ? (
        state.loading && <div className="card"><Loading /></div>
      ) : (
        <div className={styles.grid}>
          <section className="card card-body">
            <h2>Host</h2>
            <dl className={styles.facts}>
              <dt>Hostname</dt><dd className="mono">{data.agent.hostname}</dd>
              <dt>Platform</dt><dd>{data.agent.platform}</dd>
              <dt>Agent version</dt><dd className="mono">{data.agent.version}</dd>
              <dt>Last seen</dt><dd>{formatAgo(data.agent.lastSeenAt)}</dd>
              <dt>Applied / desired</dt><dd><VersionPair agent={data.agent} /></dd>
              <dt>Drift</dt><dd><DriftBadge agent={data.agent} /></dd>
            </dl>
          </section>
          <section className="card">
            <div className="card-head"><h2>Adapters</h2></div>
            {data.agent.adapters.length === 0 ? (
              <p className="muted card-body">The agent reported no adapters.</p>
            ) : (
              <div className="table-wrap">
                <table className="table" aria-label="Adapters">
                  <thead><tr><th>Index</th><th>Name</th><th>MACs</th><th>Addresses</th></tr></thead>
                  <tbody>
                    {data.agent.adapters.map((a) => (
                      <tr key={`${a.index}-${a.name}`}>
                        <td className="mono">{a.index}</td>
                        <td>{a.name}</td>
                        <td className="mono">{a.macs.join(', ') || '—'}</td>
                        <td className="mono">{a.addresses.join(', ') || '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <section className={`card ${styles.wide}`}>
            <div className="card-head"><h2>Rule activity</h2></div>
            {data.totals.length === 0 ? (
              <EmptyState title="No activity yet">Packets handled by this agent&apos;s rules show up here.</EmptyState>
            ) : (
              <RuleActivityTable totals={data.totals} rules={data.rules} />
            )}
          </section>
        </div>
      )}
    </>
  );
}
