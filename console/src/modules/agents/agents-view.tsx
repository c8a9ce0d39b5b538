'use client';
import { useMemo, useState } from 'react';
import { listActivity } from '@/api/activity';
import { listAgents } from '@/api/agents';
import { sumByAgent } from '@/modules/activity/activity-sums';
import { useLive } from '@/modules/live/use-live';
import { useSession } from '@/modules/session/session-provider';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { filterAgents, tagsOf, type FleetFilter } from './agent-filter';
import { AgentsTable } from './agents-table';
import { EnrollmentTokenPanel } from './enrollment-token-panel';
import { FleetFilterBar } from './fleet-filter-bar';

async function loadFleet() {
  const [agents, totals] = await Promise.all([listAgents(), listActivity()]);
  return { agents, activity: sumByAgent(totals) };
}

export function AgentsView() {
  const { canEdit } = useSession();
  const fleet = useLive(loadFleet, ['presence', 'agent', 'push', 'activity']);
  const [enrolling, setEnrolling] = useState(false);
  const [filter, setFilter] = useState<FleetFilter>({});
  const agents = fleet.data?.agents;
  const online = agents?.filter((a) => a.online).length ?? 0;
  const tags = useMemo(() => tagsOf(agents ?? []), [agents]);
  const shown = useMemo(() => filterAgents(agents ?? [], filter), [agents, filter]);

  return (
    <>
      <PageHeader
        title="Agents"
        subtitle={agents ? `${agents.length} enrolled · ${online} online` : 'Every host running the Portfleet agent'}
        actions={canEdit && agents && agents.length > 0 && (
          <button type="button" className="btn" onClick={() => setEnrolling((v) => !v)}>
            {enrolling ? 'Close' : 'Add agent'}
          </button>
        )}
      />
      {fleet.error !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={fleet.error} retry={() => void fleet.refresh()} /></div>}
      {enrolling && (
        <div className="card card-body" style={{ marginBottom: 16 }}>
          <EnrollmentTokenPanel />
        </div>
      )}
      <div className="card">
        {fleet.loading && !agents ? (
          <Loading label="Loading agents…" />
        ) : !agents ? null : agents.length === 0 ? (
          <EmptyState title="No agents yet" action={canEdit ? <EnrollmentTokenPanel primary /> : undefined}>
            Enroll a host: create a one-time token and run the command it shows on that host.
          </EmptyState>
        ) : (
          <>
            <FleetFilterBar filter={filter} onChange={setFilter} groups={tags.groups} labels={tags.labels} />
            {shown.length === 0 ? (
              <EmptyState title="No agent matches" action={<button type="button" className="btn" onClick={() => setFilter({})}>Clear filters</button>}>
                None of the {agents.length} agents matches these filters.
              </EmptyState>
            ) : (
              <AgentsTable agents={shown} activity={fleet.data!.activity} canEdit={canEdit} onChanged={() => void fleet.refresh()} />
            )}
          </>
        )}
      </div>
    </>
  );
}
