'use client';
import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { listRuleSets } from '@/api/rule-sets';
import { usePolled } from '@/api/use-polled';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';

/** `/rules` opens the rule set named `default` (there from the first start), or the first one. */
export function RuleSetIndex() {
  const router = useRouter();
  const state = usePolled(listRuleSets, null);
  const chosen = state.data?.find((s) => s.name === 'default') ?? state.data?.[0];
  useEffect(() => {
    if (chosen) router.replace(`/rules/${chosen.id}`);
  }, [chosen, router]);
  return (
    <>
      <PageHeader title="Rules" />
      {state.error !== undefined ? <ErrorNotice error={state.error} retry={() => void state.refresh()} />
        : state.data && state.data.length === 0 ? <div className="card"><EmptyState title="No rule set">The controller has no rule set yet.</EmptyState></div>
        : <div className="card"><Loading label="Opening rules…" /></div>}
    </>
  );
}
