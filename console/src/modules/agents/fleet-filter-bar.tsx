import type { FleetFilter } from './agent-filter';
import styles from './fleet.module.css';

interface Props {
  filter: FleetFilter;
  onChange: (filter: FleetFilter) => void;
  groups: readonly string[];
  labels: readonly string[];
}

/** Search box and the status, group, label and drift filters above the fleet table. */
export function FleetFilterBar({ filter, onChange, groups, labels }: Props) {
  const status = filter.online === undefined ? '' : filter.online ? 'online' : 'offline';
  return (
    <div className={styles.filters} role="search">
      <input className={`input ${styles.search}`} type="search" placeholder="Search name, host, group, label…"
        aria-label="Search agents" value={filter.search ?? ''} onChange={(e) => onChange({ ...filter, search: e.target.value })} />
      <select className="select" aria-label="Status" value={status}
        onChange={(e) => onChange({ ...filter, online: e.target.value === '' ? undefined : e.target.value === 'online' })}>
        <option value="">Any status</option>
        <option value="online">Online</option>
        <option value="offline">Offline</option>
      </select>
      <select className="select" aria-label="Group" value={filter.group ?? ''}
        onChange={(e) => onChange({ ...filter, group: e.target.value || undefined })}>
        <option value="">Any group</option>
        {groups.map((g) => <option key={g} value={g}>{g}</option>)}
      </select>
      <select className="select" aria-label="Label" value={filter.label ?? ''}
        onChange={(e) => onChange({ ...filter, label: e.target.value || undefined })}>
        <option value="">Any label</option>
        {labels.map((l) => <option key={l} value={l}>{l}</option>)}
      </select>
      <label className={styles.check}>
        <input type="checkbox" checked={filter.drift ?? false} onChange={(e) => onChange({ ...filter, drift: e.target.checked || undefined })} />
        Drift only
      </label>
    </div>
  );
}
