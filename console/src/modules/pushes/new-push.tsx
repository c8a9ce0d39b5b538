'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { agentSummary } from '@/api/agents';
import { createPush, dryRunPush } from '@/api/pushes';
import { listRuleSets } from '@/api/rule-sets';
import type { DryRun, PushRequest } from '@/api/types';
import { BUSY_INTERVAL_MS, useLive } from '@/modules/live/use-live';
import { useSession } from '@/modules/session/session-provider';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { AgentPicker } from './agent-picker';
import { DryRunView } from './dry-run-view';
import { DEFAULT_ROLLOUT, rolloutOf, type RolloutDraft } from './rollout';
import { RolloutOptions } from './rollout-options';
import { TagPicker } from './tag-picker';
import styles from './pushes.module.css';

/** The fleet's counts and the groups and labels in use (never the fleet itself: the picker pages it). */
async function loadTargets() {
  const [summary, ruleSets] = await Promise.all([agentSummary(), listRuleSets()]);
  return { summary, ruleSets };
}

/** Choose a rule-set version and its targets (agents, groups, labels), preview, and push. */
export function NewPush() {
  const router = useRouter();
  const { canEdit } = useSession();
  const state = useLive(loadTargets, ['agent'], [], undefined, { minIntervalMs: BUSY_INTERVAL_MS });
  const [ruleSetId, setRuleSetId] = useState<string>();
  const [version, setVersion] = useState<number>();
  const [agentIds, setAgentIds] = useState<Set<string>>(new Set());
  const [groups, setGroups] = useState<Set<string>>(new Set());
  const [labels, setLabels] = useState<Set<string>>(new Set());
  const [rollout, setRollout] = useState<RolloutDraft>(DEFAULT_ROLLOUT);
  const [dryRun, setDryRun] = useState<DryRun>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const data = state.data;

  // The rule set comes from ?ruleSet= (the editor's Push button), else `default`.
  useEffect(() => {
    if (!data || ruleSetId) return;
    const wanted = new URLSearchParams(window.location.search).get('ruleSet');
    const chosen = data.ruleSets.find((s) => s.id === wanted) ?? data.ruleSets.find((s) => s.name === 'default') ?? data.ruleSets[0];
    if (chosen) setRuleSetId(chosen.id);
  }, [data, ruleSetId]);

  const ruleSet = data?.ruleSets.find((s) => s.id === ruleSetId);
  const tags = data?.summary ?? { groups: [], labels: [] };
  const pushVersion = version ?? ruleSet?.latestVersion;
  const request = (): PushRequest | null => ruleSet ? {
    ruleSetId: ruleSet.id,
    version: pushVersion,
    agentIds: [...agentIds],
    groups: [...groups],
    labels: [...labels],
    ...(rolloutOf(rollout) ? { rollout: rolloutOf(rollout) } : {}),
  } : null;
  const chosen = agentIds.size + groups.size + labels.size;

  // A preview belongs to the choices it was made for.
  useEffect(() => setDryRun(undefined), [ruleSetId, version, agentIds, groups, labels]);

  async function act(action: 'dry-run' | 'push') {
    const body = request();
    if (!body) return;
    setBusy(true);
    setError(undefined);
    try {
      if (action === 'dry-run') {
        setDryRun(await dryRunPush(body));
        setBusy(false);
      } else {
        const created = await createPush(body);
        router.push(`/pushes/${created.id}`);
      }
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }

  const targetsText = [
    agentIds.size ? `${agentIds.size} ${agentIds.size === 1 ? 'agent' : 'agents'}` : '',
    groups.size ? `${groups.size} ${groups.size === 1 ? 'group' : 'groups'}` : '',
    labels.size ? `${labels.size} ${labels.size === 1 ? 'label' : 'labels'}` : '',
  ].filter(Boolean).join(' + ') || 'nothing';

  return (
    <>
      <PageHeader title="New push" subtitle={<><Link href="/pushes">← Pushes</Link> · send a rule-set version to agents, groups or labels</>} />
      {state.error !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={state.error} retry={() => void state.refresh()} /></div>}
      {!data ? (
        state.loading && <div className="card"><Loading /></div>
      ) : !ruleSet ? (
        <div className="card"><EmptyState title="No rule set">There is nothing to push yet.</EmptyState></div>
      ) : data.summary.enrolled === 0 ? (
        <div className="card">
          <EmptyState title="No agents to push to" action={<Link className="btn btn-primary" href="/agents">Enroll an agent</Link>}>
            Agents appear here once they enroll.
          </EmptyState>
        </div>
      ) : (
        <>
          <div className={styles.form}>
            <section className={`card ${styles.section}`} aria-label="What to push">
              <h2 style={{ margin: 0 }}>What</h2>
              <div className={styles.row}>
                <label className="field"><span>Rule set</span>
                  <select className="select" aria-label="Rule set" value={ruleSet.id} onChange={(e) => { setRuleSetId(e.target.value); setVersion(undefined); }}>
                    {data.ruleSets.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
                  </select></label>
                <label className="field"><span>Version</span>
                  <select className="select" aria-label="Version" value={pushVersion} onChange={(e) => setVersion(Number(e.target.value))} data-testid="push-version-select">
                    {Array.from({ length: ruleSet.latestVersion }, (_, i) => ruleSet.latestVersion - i).map((v) => (
                      <option key={v} value={v}>v{v}{v === ruleSet.latestVersion ? ' (latest)' : ''}</option>
                    ))}
                  </select></label>
              </div>
              <TagPicker title="Groups" name="group" options={tags.groups} selected={groups} onChange={setGroups} />
              <TagPicker title="Labels" name="label" options={tags.labels} selected={labels} onChange={setLabels} />
              <RolloutOptions value={rollout} onChange={setRollout} />
            </section>
            <section className="card" aria-label="Agents">
              <AgentPicker selected={agentIds} onChange={setAgentIds} />
            </section>
          </div>
          <div className={`card ${styles.footer}`} style={{ marginTop: 16, borderRadius: 10 }}>
            <span>
              Push <strong>{ruleSet.name}</strong> <strong data-testid="push-version">v{pushVersion}</strong> to {targetsText}
              {rollout.staged ? ' in waves' : ' at once'}
            </span>
            {canEdit && (
              <span className={styles.actions}>
                <button type="button" className="btn" disabled={chosen === 0 || busy} onClick={() => void act('dry-run')}>Preview changes</button>
                <button type="button" className="btn btn-primary" disabled={chosen === 0 || busy} onClick={() => void act('push')}>
                  {busy ? 'Working…' : `Push v${pushVersion}`}
                </button>
              </span>
            )}
          </div>
          {error !== undefined && <div style={{ marginTop: 12 }}><ErrorNotice error={error} /></div>}
          {dryRun && <DryRunView dryRun={dryRun} />}
        </>
      )}
    </>
  );
}
