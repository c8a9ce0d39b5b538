import type { Metadata } from 'next';
import { ApiTokensView } from '@/modules/tokens/api-tokens-view';

export const metadata: Metadata = { title: 'API tokens' };

export default function Page() {
  return <ApiTokensView />;
}
