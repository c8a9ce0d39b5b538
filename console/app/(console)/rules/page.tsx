import type { Metadata } from 'next';
import { RuleSetEditor } from '@/modules/rules/rule-set-editor';

export const metadata: Metadata = { title: 'Rules' };

export default function RulesPage() {
  return <RuleSetEditor />;
}
