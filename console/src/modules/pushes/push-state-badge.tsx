import type { PushState, PushStatus } from '@/api/types';

const CLASS: Record<PushState, string> = {
  waiting: 'badge badge-plain',
  pending: 'badge',
  delivered: 'badge badge-info',
  applied: 'badge badge-ok',
  failed: 'badge badge-bad',
  superseded: 'badge badge-plain',
  cancelled: 'badge badge-plain',
};

export function PushStateBadge({ state }: { state: PushState }) {
  return <span className={CLASS[state]} data-push-state={state}>{state}</span>;
}

const STATUS_CLASS: Record<PushStatus, string> = {
  running: 'badge badge-info',
  completed: 'badge badge-ok',
  halted: 'badge badge-warn',
  aborted: 'badge badge-bad',
};

export function PushStatusBadge({ status }: { status: PushStatus }) {
  return <span className={STATUS_CLASS[status] ?? 'badge'} data-push-status={status}>{status}</span>;
}
