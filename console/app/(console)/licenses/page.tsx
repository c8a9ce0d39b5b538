import type { Metadata } from 'next';
import { LicensesView } from '@/modules/license/licenses-view';

export const metadata: Metadata = { title: 'License' };

export default function Page() {
  return <LicensesView />;
}
