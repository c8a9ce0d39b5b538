'use client';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback, useMemo, useState } from 'react';
import { agentActivityTotals } from '@/api/activity';
import { agentSummary, listAgentsPage } from '@/api/agents';
import { formatCount } from '@/format/bytes';
import { sumsOfAgents } from '@/modules/activity/activity-sums';
import { BUSY_INTERVAL_MS, useLive } from '@/modules/live/use-live';
import { useSession } from '@/modules/session/session-provider';
import { EmptyState } from '@/ui/empty-state';
import { KeysetPager } from '@/ui/keyset-pager';
import { Loading } from '@/ui/loading';
import { PagedLoadError } from '@/ui/paged-load-error';
import { PageHeader } from '@/ui/page-header';
import { AgentsTable } from './agents-table';
import { EnrollmentTokenPanel } from './enrollment-token-panel';
import { FleetFilterBar } from './fleet-filter-bar';
import { fleetQueryString, hasFilter, nextPage, PAGE_SIZES, pageNumber, previousPage, readFleetQuery, withFilter, type FleetFilter, type FleetQuery } from './fleet-query';

/**
 * One page of the fleet, its header counts and filter menus, and the activity of the agents on
 * it: a few small requests whatever the fleet's size (never the whole fleet, never every rule's
 * activity).
 */
async function loadPage(q: FleetQuery) {
  const [page, summary] = await Promise.all([listAgentsPage(q.filter, q.limit, q.cursor), agentSummary(q.filter)]);
  const activity = sumsOfAgents(await agentActivityTotals(page.agents.map((a) => a.id)));
  return { ...page, summary, activity };
}

export function AgentsView() {
  const { canEdit } = useSession();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const queryKey = params.toString();
  const q = useMemo(() => readFleetQuery(new URLSearchParams(queryKey)), [queryKey]);
  const fleet = useLive(() => loadPage(q), ['presence', 'agent', 'push', 'activity'], [queryKey], undefined,
    { minIntervalMs: BUSY_INTERVAL_MS, keepPreviousData: true });
  const [enrolling, setEnrolling] = useState(false);

  // Filters replace the history entry (typing is not history); page turns add one (Back goes back a page).
  const go = useCallback((next: FleetQuery, mode: 'push' | 'replace') => {
    router[mode](`${pathname}${fleetQueryString(next)}`, { scroll: false });
  }, [router, pathname]);
  const setFilter = (filter: FleetFilter) => go(withFilter(q, filter), 'replace');

  const data = fleet.data;
  const summary = data?.summary;
  return (
    <>
      <PageHeader
        title="Agents"
        subtitle={summary ? `${formatCount(summary.enrolled)} enrolled · ${formatCount(summary.online)} online` : 'Every host running the Portfleet agent'}
        actions={canEdit && summary && summary.enrolled > 0 && (
          <button type="button" className="btn" onClick={() => setEnrolling((v) => !v)}>
            {enrolling ? 'Close' : 'Add agent'}
          </button>
        )}
      />
      {fleet.error !== undefined && (
        <PagedLoadError error={fleet.error} retry={() => void fleet.refresh()} onFirstPage={q.cursor ? () => go(withFilter(q, q.filter), 'replace') : undefined} />
      )}
      {enrolling && (
        <div className="card card-body" style={{ marginBottom: 16 }}>
          <EnrollmentTokenPanel />
        </div>
      )}
      <div className="card" aria-busy={fleet.loading}>
        {!data || !summary ? (
          fleet.loading ? <Loading label="Loading agents…" /> : null
        ) : summary.enrolled === 0 && !q.cursor ? (
          <EmptyState title="No agents yet" action={canEdit ? <EnrollmentTokenPanel primary /> : undefined}>
            Enroll a host: create a one-time token and run the command it shows on that host.
          </EmptyState>
        ) : (
          <>
            <FleetFilterBar filter={q.filter} onChange={setFilter} groups={summary.groups} labels={summary.labels} />
            {data.agents.length === 0 && q.cursor ? (
              <EmptyState title="Nothing on this page" action={<button type="button" className="btn" onClick={() => go(withFilter(q, q.filter), 'push')}>First page</button>}>
                The agents that were here have gone (retired, or no longer matching).
              </EmptyState>
            ) : data.agents.length === 0 ? (
              <EmptyState title="No agent matches" action={hasFilter(q.filter) ? <button type="button" className="btn" onClick={() => setFilter({})}>Clear filters</button> : undefined}>
                None of the {formatCount(summary.enrolled)} agents matches these filters.
              </EmptyState>
            ) : (
              <AgentsTable agents={data.agents} activity={data.activity} canEdit={canEdit} onChanged={() => void fleet.refresh()} />
            )}
            <KeysetPager noun="agents" rangeTestId="fleet-range" sizes={PAGE_SIZES}
              page={pageNumber(q)} limit={q.limit} shown={data.agents.length} matching={summary.matching}
              hasPrevious={q.previous.length > 0} hasNext={data.nextCursor !== null}
              onPrevious={() => go(previousPage(q), 'push')}
              onNext={() => data.nextCursor && go(nextPage(q, data.nextCursor), 'push')}
              onLimit={(limit) => go(withFilter(q, q.filter, limit), 'replace')} />
          </>
        )}
      </div>
    </>
  );
}
