import type { Metadata } from 'next';
import { PushList } from '@/modules/pushes/push-list';

export const metadata: Metadata = { title: 'Pushes' };

export default function Page() {
  return <PushList />;
}
