import type { Metadata } from 'next';
import { RuleSetEditor } from '@/modules/rules/rule-set-editor';

export const metadata: Metadata = { title: 'Rules' };

export default async function RuleSetPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <RuleSetEditor id={id} />;
}
