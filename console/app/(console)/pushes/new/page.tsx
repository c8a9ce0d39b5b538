import type { Metadata } from 'next';
import { NewPush } from '@/modules/pushes/new-push';

export const metadata: Metadata = { title: 'New push' };

export default function Page() {
  return <NewPush />;
}
