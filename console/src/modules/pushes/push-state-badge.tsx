import type { PushState } from '@/api/types';

const CLASS: Record<PushState, string> = {
  pending: 'badge',
  delivered: 'badge badge-info',
  applied: 'badge badge-ok',
  failed: 'badge badge-bad',
};

export function PushStateBadge({ state }: { state: PushState }) {
  return <span className={CLASS[state]} data-push-state={state}>{state}</span>;
}
