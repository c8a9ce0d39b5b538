import type { Metadata } from 'next';
import { Suspense } from 'react';
import { AgentsView } from '@/modules/agents/agents-view';
import { Loading } from '@/ui/loading';

export const metadata: Metadata = { title: 'Agents' };

/** The view reads its filter and page from the URL (useSearchParams): rendered in the browser. */
export default function AgentsPage() {
  return (
    <Suspense fallback={<Loading label="Loading agents…" />}>
      <AgentsView />
    </Suspense>
  );
}
