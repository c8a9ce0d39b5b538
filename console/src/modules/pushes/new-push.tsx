'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { listAgents } from '@/api/agents';
import { createPush } from '@/api/pushes';
import { listRuleSets } from '@/api/rule-sets';
import { usePolled } from '@/api/use-polled';
import { useSession } from '@/modules/session/session-provider';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { AgentPicker } from './agent-picker';
import styles from './pushes.module.css';

const POLL_MS = 2000;

async function loadTargets() {
  const [agents, ruleSets] = await Promise.all([listAgents(), listRuleSets()]);
  return { agents, ruleSet: ruleSets.find((s) => s.name === 'default') ?? ruleSets[0] ?? null };
}

/** Choose agents and push the latest version of the rule set to them. */
export function NewPush() {
  const router = useRouter();
  const { canEdit } = useSession();
  const state = usePolled(loadTargets, POLL_MS);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [pushing, setPushing] = useState(false);
  const [error, setError] = useState<unknown>();
  const data = state.data;

  async function push() {
    if (!data?.ruleSet) return;
    setPushing(true);
    setError(undefined);
    try {
      const created = await createPush(data.ruleSet.id, [...selected], data.ruleSet.latestVersion);
      router.push(`/pushes/${created.id}`);
    } catch (e) {
      setError(e);
      setPushing(false);
    }
  }

  const chosen = data ? data.agents.filter((a) => selected.has(a.id)).length : 0;
  return (
    <>
      <PageHeader title="Push" subtitle="Send a rule-set version to chosen agents and watch them apply it" />
      {state.error !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={state.error} retry={() => void state.refresh()} /></div>}
      {!data ? (
        state.loading && <div className="card"><Loading /></div>
      ) : !data.ruleSet ? (
        <div className="card"><EmptyState title="No rule set">There is nothing to push yet.</EmptyState></div>
      ) : data.agents.length === 0 ? (
        <div className="card">
          <EmptyState title="No agents to push to" action={<Link className="btn btn-primary" href="/agents">Enroll an agent</Link>}>
            Agents appear here once they enroll.
          </EmptyState>
        </div>
      ) : (
        <div className={`card ${styles.stack}`} style={{ gap: 0 }}>
          <AgentPicker agents={data.agents} selected={selected} onChange={setSelected} />
          <div className={styles.footer}>
            <span>
              Rule set <strong>{data.ruleSet.name}</strong>, latest version{' '}
              <strong data-testid="push-version">v{data.ruleSet.latestVersion}</strong>
              {' · '}<Link href="/rules">edit rules</Link>
            </span>
            {canEdit && (
              <button type="button" className="btn btn-primary" disabled={chosen === 0 || pushing} onClick={() => void push()}>
                {pushing ? 'Pushing…' : `Push v${data.ruleSet.latestVersion} to ${chosen} ${chosen === 1 ? 'agent' : 'agents'}`}
              </button>
            )}
          </div>
          {error !== undefined && <div style={{ padding: '0 18px 14px' }}><ErrorNotice error={error} /></div>}
        </div>
      )}
    </>
  );
}
