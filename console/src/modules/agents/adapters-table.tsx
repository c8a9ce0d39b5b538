'use client';
import { Fragment, useState, type FormEvent } from 'react';
import { sendMacCommand, type MacCommand } from '@/api/agents';
import type { Adapter, Agent } from '@/api/types';
import { ErrorNotice } from '@/ui/error-notice';
import styles from './agent-detail.module.css';

/** Set, randomize or restore one adapter's MAC address through the agent. */
function MacForm({ agent, adapter, onDone }: { agent: Agent; adapter: Adapter; onDone: () => void }) {
  const [action, setAction] = useState<MacCommand['action']>('set');
  const [mac, setMac] = useState('');
  const [vendor, setVendor] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<string>();

  async function send(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    const command: MacCommand = action === 'set' ? { action, mac: mac.trim() } : action === 'random' ? { action, ...(vendor.trim() ? { vendor: vendor.trim() } : {}) } : { action };
    try {
      const answer = await sendMacCommand(agent.id, adapter.name, command);
      if (answer.ok) {
        setResult(`The agent set ${adapter.name} to ${answer.mac ?? 'its hardware address'}.`);
        onDone();
      } else setError(new Error(`The agent refused: ${answer.error ?? 'no reason given'}`));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className={styles.macForm} onSubmit={send} aria-label={`Change MAC of ${adapter.name}`}>
      <select className="select" aria-label="MAC action" value={action} onChange={(e) => setAction(e.target.value as MacCommand['action'])}>
        <option value="set">Set to</option>
        <option value="random">Randomize</option>
        <option value="restore">Restore hardware MAC</option>
      </select>
      {action === 'set' && <input className="input mono" aria-label="New MAC" placeholder="02:00:00:00:00:01" value={mac} onChange={(e) => setMac(e.target.value)} required />}
      {action === 'random' && <input className="input" aria-label="Vendor (optional)" placeholder="vendor (optional)" value={vendor} onChange={(e) => setVendor(e.target.value)} />}
      <button type="submit" className="btn btn-small btn-primary" disabled={busy || !agent.online} title={agent.online ? undefined : 'The agent is offline'}>
        {busy ? 'Waiting for the agent…' : 'Send'}
      </button>
      {error !== undefined && <div className={styles.macResult}><ErrorNotice error={error} /></div>}
      {result && <div className={`notice notice-info ${styles.macResult}`} role="status">{result}</div>}
    </form>
  );
}

export function AdaptersTable({ agent, canEdit, onChanged }: { agent: Agent; canEdit: boolean; onChanged: () => void }) {
  const [open, setOpen] = useState<string | null>(null);
  if (agent.adapters.length === 0) return <p className="muted card-body">The agent reported no adapters.</p>;
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Adapters">
        <thead><tr><th>Index</th><th>Name</th><th>MACs</th><th>Addresses</th>{canEdit && <th />}</tr></thead>
        <tbody>
          {agent.adapters.map((a) => (
            <Fragment key={`${a.index}-${a.name}`}>
              <tr>
                <td className="mono">{a.index}</td>
                <td>{a.name}</td>
                <td className="mono">{a.macs.join(', ') || '—'}</td>
                <td className="mono">{a.addresses.join(', ') || '—'}</td>
                {canEdit && (
                  <td><button type="button" className="btn btn-small" onClick={() => setOpen(open === a.name ? null : a.name)} aria-label={`Change MAC of ${a.name}`}>MAC…</button></td>
                )}
              </tr>
              {open === a.name && (
                <tr><td colSpan={5}><MacForm agent={agent} adapter={a} onDone={onChanged} /></td></tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}
