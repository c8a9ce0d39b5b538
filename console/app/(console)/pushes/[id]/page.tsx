import type { Metadata } from 'next';
import { Suspense } from 'react';
import { PushProgress } from '@/modules/pushes/push-progress';
import { Loading } from '@/ui/loading';

export const metadata: Metadata = { title: 'Push' };

/** The view reads its target filter and page from the URL (useSearchParams): rendered in the browser. */
export default async function PushPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <Suspense fallback={<Loading />}>
      <PushProgress id={id} />
    </Suspense>
  );
}
