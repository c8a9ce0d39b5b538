import type { Metadata } from 'next';
import { RuleSetIndex } from '@/modules/rules/rule-set-index';

export const metadata: Metadata = { title: 'Rules' };

export default function Page() {
  return <RuleSetIndex />;
}
