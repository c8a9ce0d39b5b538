'use client';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { abortPush, getPushSummary, listPushTargets, resumePush, retryPush, rollbackPush } from '@/api/pushes';
import { getRuleSet } from '@/api/rule-sets';
import type { PushSummary } from '@/api/types';
import { formatTime } from '@/format/time';
import { BUSY_INTERVAL_MS, useLive } from '@/modules/live/use-live';
import { useSession } from '@/modules/session/session-provider';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { KeysetPager } from '@/ui/keyset-pager';
import { Loading } from '@/ui/loading';
import { PagedLoadError } from '@/ui/paged-load-error';
import { PageHeader } from '@/ui/page-header';
import { PushBar } from './push-bar';
import { countsOf, isFinished, type PushCounts } from './push-counts';
import { PushStatusBadge } from './push-state-badge';
import { PushTargetFilter } from './push-target-filter';
import {
  matchingTargets, nextTargetPage, previousTargetPage, readTargetQuery, statesOf, TARGET_PAGE_SIZES, targetQueryString, withTargetView, type TargetQuery,
} from './push-target-query';
import { PushTargetsTable } from './push-targets-table';
import styles from './pushes.module.css';

/**
 * The push's header and counts (aggregated by the controller) and one page of its targets with
 * their agents: two small requests however many agents the push targets (never every target,
 * never the whole fleet).
 */
async function loadPage(id: string, q: TargetQuery) {
  const [push, page] = await Promise.all([getPushSummary(id), listPushTargets(id, statesOf(q.view), q.limit, q.cursor)]);
  return { push, ...page };
}

/** Live progress of one push: counts, a bar, a page of agents' states and reasons; retry, resume, abort, rollback. */
export function PushProgress({ id }: { id: string }) {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const queryKey = params.toString();
  const q = useMemo(() => readTargetQuery(new URLSearchParams(queryKey)), [queryKey]);
  const { canEdit } = useSession();
  // Agent events matter only for the agents on the shown page (their presence).
  const visible = useRef<ReadonlySet<string>>(new Set());
  const state = useLive(() => loadPage(id, q), ['push', 'agent'], [id, queryKey],
    (event) => {
      const data = event.data as { pushId?: string; agentId?: string } | undefined;
      return event.type === 'push' ? data?.pushId === id : visible.current.has(data?.agentId ?? '');
    },
    { minIntervalMs: BUSY_INTERVAL_MS, keepPreviousData: true });
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>();
  const data = state.data;
  visible.current = new Set(data?.targets.map((t) => t.agentId));
  const ruleSetName = useRuleSetName(data?.push.ruleSetId);

  // Another view or page size replaces the history entry; page turns add one (Back goes back a page).
  const go = useCallback((next: TargetQuery, mode: 'push' | 'replace') => {
    router[mode](`${pathname}${targetQueryString(next)}`, { scroll: false });
  }, [router, pathname]);

  async function act(action: () => Promise<{ id: string }>, navigate = false) {
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
  const { push } = data;
  const counts = countsOf(push.counts);
  const finished = isFinished(counts);
  const rollout = push.rollout;
  const matching = matchingTargets(q.view, counts);
  return (
    <>
      <PageHeader
        title={`Push of ${ruleSetName ?? push.ruleSetId} v${push.version}`}
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
      {state.error !== undefined && (
        <PagedLoadError error={state.error} retry={() => void state.refresh()} onFirstPage={q.cursor ? () => go(withTargetView(q, q.view), 'replace') : undefined} />
      )}
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
          {canEdit && <PushActions push={push} counts={counts} busy={busy} act={act} />}
          {actionError !== undefined && <div style={{ marginTop: 12 }}><ErrorNotice error={actionError} /></div>}
        </section>
        <section className="card" aria-busy={state.loading}>
          <PushTargetFilter view={q.view} counts={counts} onView={(view) => go(withTargetView(q, view), 'replace')} />
          {data.targets.length === 0 && q.cursor ? (
            <EmptyState title="Nothing on this page" action={<button type="button" className="btn" onClick={() => go(withTargetView(q, q.view), 'push')}>First page</button>}>
              The targets that were here have moved on to another state.
            </EmptyState>
          ) : data.targets.length === 0 ? (
            <EmptyState title="No target in this state">None of the {counts.total} targets is in this state now.</EmptyState>
          ) : (
            <PushTargetsTable targets={data.targets} staged={rollout !== null} />
          )}
          <KeysetPager noun="targets" rangeTestId="targets-range" sizes={TARGET_PAGE_SIZES}
            page={q.previous.length + 1} limit={q.limit} shown={data.targets.length} matching={matching}
            hasPrevious={q.previous.length > 0} hasNext={data.nextCursor !== null}
            onPrevious={() => go(previousTargetPage(q), 'push')}
            onNext={() => data.nextCursor && go(nextTargetPage(q, data.nextCursor), 'push')}
            onLimit={(limit) => go(withTargetView(q, q.view, limit), 'replace')} />
        </section>
      </div>
    </>
  );
}

function PushActions({ push, counts, busy, act }: {
  push: PushSummary;
  counts: PushCounts;
  busy: boolean;
  act: (action: () => Promise<{ id: string }>, navigate?: boolean) => Promise<void>;
}) {
  const id = push.id;
  return (
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
  );
}

/** The rule set's name, read once per push page (not on each live reload); the id until it arrives. */
function useRuleSetName(ruleSetId: string | undefined): string | undefined {
  const [name, setName] = useState<{ id: string; name: string }>();
  useEffect(() => {
    if (!ruleSetId) return;
    let current = true;
    getRuleSet(ruleSetId).then((set) => { if (current) setName({ id: ruleSetId, name: set.name }); }).catch(() => undefined);
    return () => { current = false; };
  }, [ruleSetId]);
  return name && name.id === ruleSetId ? name.name : undefined;
}
