'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { listActivity } from '@/api/activity';
import { agentPushes, getAgent, retireAgent } from '@/api/agents';
import { getRuleSetVersion, listRuleSets } from '@/api/rule-sets';
import type { Rule } from '@/api/types';
import { formatAgo } from '@/format/time';
import { RuleActivityCharts } from '@/modules/activity/rule-activity-charts';
import { RuleActivityTable } from '@/modules/activity/rule-activity-table';
import { useLive } from '@/modules/live/use-live';
import { useSession } from '@/modules/session/session-provider';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { AdaptersTable } from './adapters-table';
import { DriftBadge, EditionBadge, OnlineBadge, VersionPair } from './agent-badges';
import { AgentTagsEditor, TagChips } from './agent-tags-editor';
import { PushHistory } from './push-history';
import styles from './agent-detail.module.css';

async function loadAgent(id: string) {
  const [agent, totals, pushes, ruleSets] = await Promise.all([
    getAgent(id), listActivity({ agentId: id }), agentPushes(id).catch(() => null), listRuleSets(),
  ]);
  // Name the activity after the rules the agent actually runs.
  let rules: Rule[] = [];
  if (agent.appliedRuleSetId && agent.appliedVersion !== null) {
    rules = (await getRuleSetVersion(agent.appliedRuleSetId, agent.appliedVersion)).rules;
  }
  return { agent, totals, rules, pushes, names: new Map(ruleSets.map((s) => [s.id, s.name])) };
}

export function AgentDetail({ id }: { id: string }) {
  const router = useRouter();
  const { canEdit } = useSession();
  const state = useLive(() => loadAgent(id), ['agent', 'push'], [id],
    (event) => (event.data as { agentId?: string })?.agentId === id);
  const [editing, setEditing] = useState(false);
  const [retiring, setRetiring] = useState(false);
  const [actionError, setActionError] = useState<unknown>();
  const data = state.data;

  async function retire() {
    try {
      await retireAgent(id);
      router.push('/agents');
    } catch (e) {
      setActionError(e);
    }
  }

  return (
    <>
      <PageHeader
        title={data ? data.agent.name : 'Agent'}
        subtitle={<Link href="/agents">← All agents</Link>}
        actions={data && (
          <>
            <OnlineBadge agent={data.agent} />
            {canEdit && <button type="button" className="btn btn-small" onClick={() => setEditing((v) => !v)}>{editing ? 'Close' : 'Edit'}</button>}
            {canEdit && (retiring
              ? <button type="button" className="btn btn-small btn-danger" onClick={() => void retire()}>Confirm retire</button>
              : <button type="button" className="btn btn-small btn-danger" onClick={() => setRetiring(true)}>Retire…</button>)}
          </>
        )}
      />
      {state.error !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={state.error} retry={() => void state.refresh()} /></div>}
      {actionError !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={actionError} /></div>}
      {retiring && <div className="notice notice-warn" role="status" style={{ marginBottom: 16 }}>Retiring stops the agent&apos;s credential and frees its seat; the host must enroll again to come back.</div>}
      {!data ? (
        state.loading && <div className="card"><Loading /></div>
      ) : (
        <div className={styles.grid}>
          {editing && (
            <section className={`card card-body ${styles.wide}`}>
              <AgentTagsEditor agent={data.agent} onCancel={() => setEditing(false)} onSaved={() => { setEditing(false); void state.refresh(); }} />
            </section>
          )}
          <section className="card card-body">
            <h2>Host</h2>
            <dl className={styles.facts}>
              <dt>Hostname</dt><dd className="mono">{data.agent.hostname}</dd>
              <dt>Platform</dt><dd>{data.agent.platform}</dd>
              <dt>Agent version</dt><dd className="mono">{data.agent.version}</dd>
              <dt>Edition</dt><dd><EditionBadge agent={data.agent} /></dd>
              <dt>Last seen</dt><dd>{formatAgo(data.agent.lastSeenAt)}</dd>
              <dt>Applied / desired</dt><dd><VersionPair agent={data.agent} /></dd>
              <dt>Drift</dt><dd><DriftBadge agent={data.agent} /></dd>
              <dt>Groups · labels</dt><dd><TagChips agent={data.agent} /></dd>
            </dl>
          </section>
          <section className="card">
            <div className="card-head"><h2>Adapters</h2></div>
            <AdaptersTable agent={data.agent} canEdit={canEdit} onChanged={() => void state.refresh()} />
          </section>
          <section className={`card ${styles.wide}`}>
            <div className="card-head"><h2>Applied rules {data.agent.appliedVersion !== null && <span className="muted">v{data.agent.appliedVersion}</span>}</h2></div>
            {data.rules.length === 0 && data.totals.length === 0 ? (
              <EmptyState title="No rules applied">Push a rule set to this agent; its rules and their activity show up here.</EmptyState>
            ) : (
              <RuleActivityCharts agentId={id} rules={data.rules} totals={data.totals} />
            )}
          </section>
          <section className={`card ${styles.wide}`}>
            <div className="card-head"><h2>Rule activity totals</h2></div>
            {data.totals.length === 0 ? (
              <EmptyState title="No activity yet">Packets handled by this agent&apos;s rules show up here.</EmptyState>
            ) : (
              <RuleActivityTable totals={data.totals} rules={data.rules} />
            )}
          </section>
          <section className={`card ${styles.wide}`}>
            <div className="card-head"><h2>Push history</h2></div>
            {data.pushes === null ? <p className="muted card-body">Push history is not available from this controller.</p>
              : <PushHistory pushes={data.pushes} names={data.names} />}
          </section>
        </div>
      )}
    </>
  );
}
