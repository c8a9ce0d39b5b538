import type { Metadata } from 'next';
import { NewPush } from '@/modules/pushes/new-push';

export const metadata: Metadata = { title: 'Pushes' };

export default function PushesPage() {
  return <NewPush />;
}
