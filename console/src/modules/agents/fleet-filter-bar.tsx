'use client';
import { useEffect, useRef, useState } from 'react';
import type { FleetFilter } from './fleet-query';
import styles from './fleet.module.css';

interface Props {
  filter: FleetFilter;
  onChange: (filter: FleetFilter) => void;
  groups: readonly string[];
  labels: readonly string[];
}

/** Typing reaches the controller once the operator pauses, not once per key. */
const SEARCH_DEBOUNCE_MS = 300;

/** Search box and the status, group, label and drift filters above the fleet table (all applied by the controller). */
export function FleetFilterBar({ filter, onChange, groups, labels }: Props) {
  const status = filter.online === undefined ? '' : filter.online ? 'online' : 'offline';
  const [draft, setDraft] = useState(filter.search ?? '');
  /** The search last sent (or last seen in the filter): what `draft` is compared with. */
  const sent = useRef(filter.search ?? '');
  const latest = useRef({ filter, onChange });
  latest.current = { filter, onChange };

  // The filter changed from elsewhere (Clear filters, the browser's back button): show its search.
  useEffect(() => {
    const search = filter.search ?? '';
    if (search !== sent.current) {
      sent.current = search;
      setDraft(search);
    }
  }, [filter.search]);

  useEffect(() => {
    if (draft === sent.current) return;
    const timer = setTimeout(() => {
      sent.current = draft;
      latest.current.onChange({ ...latest.current.filter, search: draft || undefined });
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [draft]);

  /** A menu change carries the search as typed so far (its pending debounce then has nothing to send). */
  const change = (next: FleetFilter) => {
    sent.current = draft;
    onChange({ ...next, search: draft || undefined });
  };
  const withSelected = (options: readonly string[], selected: string | undefined) =>
    selected && !options.includes(selected) ? [selected, ...options] : options;

  return (
    <div className={styles.filters} role="search">
      <input className={`input ${styles.search}`} type="search" placeholder="Search name, host, group, label…"
        aria-label="Search agents" value={draft} onChange={(e) => setDraft(e.target.value)} />
      <select className="select" aria-label="Status" value={status}
        onChange={(e) => change({ ...filter, online: e.target.value === '' ? undefined : e.target.value === 'online' })}>
        <option value="">Any status</option>
        <option value="online">Online</option>
        <option value="offline">Offline</option>
      </select>
      <select className="select" aria-label="Group" value={filter.group ?? ''}
        onChange={(e) => change({ ...filter, group: e.target.value || undefined })}>
        <option value="">Any group</option>
        {withSelected(groups, filter.group).map((g) => <option key={g} value={g}>{g}</option>)}
      </select>
      <select className="select" aria-label="Label" value={filter.label ?? ''}
        onChange={(e) => change({ ...filter, label: e.target.value || undefined })}>
        <option value="">Any label</option>
        {withSelected(labels, filter.label).map((l) => <option key={l} value={l}>{l}</option>)}
      </select>
      <label className={styles.check}>
        <input type="checkbox" checked={filter.drift ?? false} onChange={(e) => change({ ...filter, drift: e.target.checked || undefined })} />
        Drift only
      </label>
    </div>
  );
}
