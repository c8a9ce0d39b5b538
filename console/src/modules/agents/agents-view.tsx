'use client';
import { useState } from 'react';
import { listActivity } from '@/api/activity';
import { listAgents } from '@/api/agents';
import { usePolled } from '@/api/use-polled';
import { sumByAgent } from '@/modules/activity/activity-sums';
import { useSession } from '@/modules/session/session-provider';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { AgentsTable } from './agents-table';
import { EnrollmentTokenPanel } from './enrollment-token-panel';

const POLL_MS = 2000;

async function loadFleet() {
  const [agents, totals] = await Promise.all([listAgents(), listActivity()]);
  return { agents, activity: sumByAgent(totals) };
}

export function AgentsView() {
  const { canEdit } = useSession();
  const fleet = usePolled(loadFleet, POLL_MS);
  const [enrolling, setEnrolling] = useState(false);
  const agents = fleet.data?.agents;
  const online = agents?.filter((a) => a.online).length ?? 0;

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
          <EmptyState
            title="No agents yet"
            action={canEdit ? <EnrollmentTokenPanel primary /> : undefined}
          >
            Enroll a host: create a one-time token and run the command it shows on that host.
          </EmptyState>
        ) : (
          <AgentsTable agents={agents} activity={fleet.data!.activity} />
        )}
      </div>
    </>
  );
}
