'use client';
import { useEffect, useState } from 'react';
import { agentSummary, listAgents, listAgentsPage } from '@/api/agents';
import type { AgentFilter } from '@/api/types';
import { formatCount } from '@/format/bytes';
import { OnlineBadge, VersionPair } from '@/modules/agents/agent-badges';
import { BUSY_INTERVAL_MS, useLive } from '@/modules/live/use-live';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import styles from './pushes.module.css';

interface Props {
  selected: ReadonlySet<string>;
  onChange: (selected: Set<string>) => void;
}

const PAGE_SIZE = 50;
/** Typing reaches the controller once the operator pauses, not once per key. */
const SEARCH_DEBOUNCE_MS = 300;

async function loadPage(filter: AgentFilter, cursor: string | null) {
  const [page, summary] = await Promise.all([listAgentsPage(filter, PAGE_SIZE, cursor), agentSummary(filter)]);
  return { ...page, matching: summary.matching };
}

/**
 * Checkboxes for the agents a push goes to: one page of agents at a time, searched and filtered by
 * the controller (a fleet of 10,000 is never listed to draw it); the selection outlives the page.
 */
export function AgentPicker({ selected, onChange }: Props) {
  const [draft, setDraft] = useState('');
  const [search, setSearch] = useState('');
  const [onlineOnly, setOnlineOnly] = useState(false);
  /** Cursors of the shown page and of those before it ('' is the first page's). */
  const [cursors, setCursors] = useState<string[]>(['']);
  const [selecting, setSelecting] = useState(false);
  const [selectError, setSelectError] = useState<unknown>();
  const filter: AgentFilter = { search: search || undefined, online: onlineOnly || undefined };
  const cursor = cursors[cursors.length - 1] || null;
  const state = useLive(() => loadPage(filter, cursor), ['agent'], [search, onlineOnly, cursor], undefined,
    { minIntervalMs: BUSY_INTERVAL_MS, keepPreviousData: true });

  useEffect(() => {
    if (draft === search) return;
    const timer = setTimeout(() => { setSearch(draft); setCursors(['']); }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [draft, search]);

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    onChange(next);
  };
  /** Every agent the search keeps: read page by page on this click only. */
  async function selectMatching() {
    setSelecting(true);
    setSelectError(undefined);
    try {
      onChange(new Set([...selected, ...(await listAgents(filter)).map((a) => a.id)]));
    } catch (e) {
      setSelectError(e);
    } finally {
      setSelecting(false);
    }
  }

  const data = state.data;
  const page = cursors.length;
  return (
    <div className={styles.picker}>
      <div className={styles.pickHead}>
        <h2 style={{ margin: 0 }}>Agents <span className="hint" data-testid="picker-selected">{formatCount(selected.size)} selected</span></h2>
        <div style={{ display: 'flex', gap: 6, flexWrap: 'wrap' }}>
          <button type="button" className="btn btn-small" disabled={!data || selecting} onClick={() => void selectMatching()}>
            {selecting ? 'Selecting…' : `All ${data ? formatCount(data.matching) : ''} ${search || onlineOnly ? 'matching' : ''}`.replace(/\s+/g, ' ').trim()}
          </button>
          <button type="button" className="btn btn-small" onClick={() => onChange(new Set())}>None</button>
        </div>
      </div>
      <div className={styles.targetFilter} role="search">
        <input className="input" style={{ flex: '1 1 200px' }} type="search" placeholder="Search name, host, group, label…"
          aria-label="Search agents to push to" value={draft} onChange={(e) => setDraft(e.target.value)} />
        <label className={styles.check}>
          <input type="checkbox" checked={onlineOnly} onChange={(e) => { setOnlineOnly(e.target.checked); setCursors(['']); }} /> Online only
        </label>
      </div>
      {selectError !== undefined && <div style={{ padding: '8px 18px' }}><ErrorNotice error={selectError} /></div>}
      {state.error !== undefined && <div style={{ padding: '8px 18px' }}><ErrorNotice error={state.error} retry={() => void state.refresh()} /></div>}
      {!data ? (state.loading && <Loading />) : data.agents.length === 0 ? (
        <p className="muted" style={{ padding: '12px 18px', margin: 0 }}>No agent matches.</p>
      ) : data.agents.map((agent) => (
        <label key={agent.id} className={styles.pickRow}>
          <input type="checkbox" checked={selected.has(agent.id)} onChange={() => toggle(agent.id)} aria-label={`Push to ${agent.name}`} />
          <span>
            <span className={styles.pickName}>{agent.name}</span> <span className="muted mono">{agent.hostname}</span>
          </span>
          <OnlineBadge agent={agent} />
          <VersionPair agent={agent} />
        </label>
      ))}
      {data && (page > 1 || data.nextCursor) && (
        <nav className={styles.pager} aria-label="Agent pages">
          <span className="muted" data-testid="picker-range">
            page {formatCount(page)} of {formatCount(Math.max(1, Math.ceil(data.matching / PAGE_SIZE)))}
          </span>
          <button type="button" className="btn btn-small" disabled={page === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
          <button type="button" className="btn btn-small" disabled={!data.nextCursor}
            onClick={() => data.nextCursor && setCursors([...cursors, data.nextCursor])}>Next</button>
        </nav>
      )}
    </div>
  );
}
