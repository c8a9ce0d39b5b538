import type { Metadata } from 'next';
import { PushProgress } from '@/modules/pushes/push-progress';

export const metadata: Metadata = { title: 'Push' };

export default async function PushPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <PushProgress id={id} />;
}
