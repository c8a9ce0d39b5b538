'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { listAgents } from '@/api/agents';
import { abortPush, getPush, resumePush, retryPush, rollbackPush } from '@/api/pushes';
import { listRuleSets } from '@/api/rule-sets';
import type { Agent, Push, RuleError } from '@/api/types';
import { formatAgo, formatTime } from '@/format/time';
import { useLive } from '@/modules/live/use-live';
import { useSession } from '@/modules/session/session-provider';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { PushBar } from './push-bar';
import { countTargets, isFinished } from './push-counts';
import { PushStateBadge, PushStatusBadge } from './push-state-badge';
import styles from './pushes.module.css';

/** "rule 2 · selector.localAddress: name does not resolve" (whole-set problems have no rule). */
function describeRuleError(e: RuleError): string {
  const where = [typeof e.ruleIndex === 'number' && e.ruleIndex >= 0 ? `rule ${e.ruleIndex + 1}` : '', e.field].filter(Boolean).join(' · ');
  return where ? `${where}: ${e.message}` : e.message;
}

async function loadPush(id: string) {
  const [push, agents, ruleSets] = await Promise.all([getPush(id), listAgents(), listRuleSets()]);
  return {
    push,
    agents: new Map<string, Agent>(agents.map((a) => [a.id, a])),
    ruleSetName: ruleSets.find((s) => s.id === push.ruleSetId)?.name ?? push.ruleSetId,
  };
}

/** Live progress of one push: counts, a bar, every agent's state and reasons; retry, resume, abort, rollback. */
export function PushProgress({ id }: { id: string }) {
  const router = useRouter();
  const { canEdit } = useSession();
  const state = useLive(() => loadPush(id), ['push', 'agent'], [id],
    (event) => event.type !== 'push' || (event.data as { pushId?: string })?.pushId === id);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>();
  const data = state.data;

  async function act(action: () => Promise<Push>, navigate = false) {
    setBusy(true);
    setActionError(undefined);
    try {
      const result = await action();
      if (navigate) router.push(`/pushes/${result.id}`);
      else await state.refresh();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  }

  if (!data) {
    return state.error !== undefined ? <ErrorNotice error={state.error} retry={() => void state.refresh()} /> : <Loading />;
  }
  const { push, agents } = data;
  const counts = countTargets(push);
  const finished = isFinished(counts);
  const rollout = push.rollout;
  return (
    <>
      <PageHeader
        title={`Push of ${data.ruleSetName} v${push.version}`}
        subtitle={<>
          <Link href="/pushes">← Pushes</Link> · started {formatTime(push.createdAt)}{push.createdBy ? ` by ${push.createdBy}` : ''}
          {push.rollbackOf && <> · rollback of <Link href={`/pushes/${push.rollbackOf}`}>an earlier push</Link></>}
        </>}
        actions={<>
          <PushStatusBadge status={push.status} />
          {finished
            ? <span className={counts.failed > 0 ? 'badge badge-bad' : 'badge badge-ok'} data-testid="push-finished">finished</span>
            : <span className="badge badge-info">in progress</span>}
        </>}
      />
      {state.error !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={state.error} /></div>}
      <div className={styles.stack}>
        <section className="card card-body">
          <PushBar counts={counts} />
          {rollout && (
            <p className="muted" style={{ margin: '12px 0 0' }} data-testid="rollout">
              Staged rollout: waves {rollout.waves.map((w) => `${w}%`).join(' → ')}, wave {(rollout.currentWave ?? 0) + 1} of {rollout.waves.length}
              {' · '}halts above {rollout.maxFailurePercent ?? 0}% failures
            </p>
          )}
          {push.status === 'halted' && (
            <div className="notice notice-warn" role="status" style={{ marginTop: 12 }}>
              The rollout halted: too many agents failed. Resume to release the next wave, or abort.
            </div>
          )}
          {canEdit && (
            <div className={styles.actions} style={{ marginTop: 14 }}>
              {push.status === 'halted' && <button type="button" className="btn" disabled={busy} onClick={() => void act(() => resumePush(id))}>Resume</button>}
              {(push.status === 'running' || push.status === 'halted') && counts.waiting > 0 && (
                <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void act(() => abortPush(id))}>Abort</button>
              )}
              {counts.failed > 0 && <button type="button" className="btn" disabled={busy} onClick={() => void act(() => retryPush(id))}>Retry failed</button>}
              {push.version > 1 && (
                <button type="button" className="btn" disabled={busy} onClick={() => void act(() => rollbackPush(id), true)}>
                  Roll back to v{push.version - 1}
                </button>
              )}
            </div>
          )}
          {actionError !== undefined && <div style={{ marginTop: 12 }}><ErrorNotice error={actionError} /></div>}
        </section>
        <section className="card">
          <div className="table-wrap">
            <table className="table" aria-label="Push targets">
              <thead><tr><th>Agent</th><th>State</th>{rollout && <th>Wave</th>}<th>Reasons</th><th>Updated</th></tr></thead>
              <tbody>
                {push.targets.map((target) => {
                  const agent = agents.get(target.agentId);
                  return (
                    <tr key={target.agentId} data-agent-id={target.agentId}>
                      <td><Link href={`/agents/${target.agentId}`}>{agent?.name ?? target.agentId}</Link></td>
                      <td><PushStateBadge state={target.state} /></td>
                      {rollout && <td>{(target.wave ?? 0) + 1}</td>}
                      <td>
                        {target.errors.length === 0 ? <span className="muted">—</span> : (
                          <ul className={styles.reasons}>
                            {target.errors.map((e, i) => <li key={i}>{describeRuleError(e)}</li>)}
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
