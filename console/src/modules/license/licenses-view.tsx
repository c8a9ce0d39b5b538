'use client';
import { useState, type FormEvent } from 'react';
import { activateLicense } from '@/api/license';
import type { Edition, EditionLimits } from '@/api/types';
import { formatTime } from '@/format/time';
import { useSession } from '@/modules/session/session-provider';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { EDITION_NAMES } from './edition-names';
import { useLicense } from './license-provider';
import styles from './license.module.css';

const ROWS: { label: string; show: (l: EditionLimits) => string | boolean }[] = [
  { label: 'Rules per host', show: (l) => String(l.maxRules) },
  { label: 'Rule descriptions', show: (l) => l.descriptions },
  { label: 'IP address select/rewrite', show: (l) => l.ipAddresses },
  { label: 'MAC address select/rewrite', show: (l) => l.macAddresses },
  { label: 'Adapter select/rewrite', show: (l) => l.adapters },
  { label: 'Cloning and reflection', show: (l) => l.cloneAndReflection },
  { label: 'Import / export', show: (l) => l.importExport },
  { label: 'Watermark', show: (l) => l.watermark },
  { label: 'Duration', show: (l) => (l.durationDays === null ? 'unlimited' : `${l.durationDays} days`) },
  { label: 'Price', show: (l) => (l.priceUsd === null ? '—' : `${l.priceUsd} USD`) },
];
const EDITIONS: Edition[] = ['trial', 'basic', 'pro', 'ultimate'];

/** The fleet license: edition, seats, trial days left, and activating a serial key (admins). */
export function LicensesView() {
  const { user } = useSession();
  const { license, refresh } = useLicense();
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  async function activate(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone(false);
    try {
      await activateLicense(key.trim());
      setKey('');
      setDone(true);
      await refresh();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  if (!license) return <><PageHeader title="License" /><div className="card"><Loading /></div></>;
  const edition = license.edition ? EDITION_NAMES[license.edition] : 'None';
  return (
    <>
      <PageHeader title="License" subtitle="One license covers the fleet; seats go to the oldest enrolled agents" />
      <dl className={styles.grid}>
        <div className={`card card-body ${styles.stat}`}><dt>Edition</dt><dd data-testid="license-edition">{edition}</dd></div>
        <div className={`card card-body ${styles.stat}`}><dt>Status</dt><dd data-testid="license-status">{license.status}</dd></div>
        <div className={`card card-body ${styles.stat}`}>
          <dt>Seats used</dt>
          <dd data-testid="license-seats">{license.seatsUsed} / {license.seats ?? 'unlimited'}</dd>
        </div>
        <div className={`card card-body ${styles.stat}`}>
          {license.status === 'trial'
            ? <><dt>Trial days left</dt><dd data-testid="trial-days-left">{license.trialDaysLeft ?? 0}</dd></>
            : <><dt>Expires</dt><dd style={{ fontSize: 15 }}>{license.expiresAt ? formatTime(license.expiresAt) : 'never'}</dd></>}
        </div>
      </dl>
      {license.serial && (
        <p className="muted">Serial <span className="mono">{license.serial}</span>{license.issuedTo ? ` · issued to ${license.issuedTo}` : ''}</p>
      )}
      {user.role === 'admin' && (
        <form className="card card-body" style={{ marginBottom: 16 }} onSubmit={activate} aria-label="Activate a serial key">
          <h2>Activate a serial key</h2>
          <div className={styles.activate}>
            <textarea aria-label="Serial key" placeholder="PF1-…" value={key} onChange={(e) => setKey(e.target.value)} required />
            <button type="submit" className="btn btn-primary" disabled={busy || key.trim() === ''}>{busy ? 'Activating…' : 'Activate'}</button>
          </div>
          {error !== undefined && <div style={{ marginTop: 10 }}><ErrorNotice error={error} /></div>}
          {done && <div className="notice notice-info" role="status" style={{ marginTop: 10 }}>Activated: the fleet now runs the {edition} edition.</div>}
        </form>
      )}
      <section className="card">
        <div className="card-head"><h2>Editions</h2></div>
        <div className="table-wrap">
          <table className="table" aria-label="Editions">
            <thead><tr><th>Feature</th>{EDITIONS.map((e) => <th key={e} className={e === license.edition ? styles.current : undefined}>{EDITION_NAMES[e]}</th>)}</tr></thead>
            <tbody>
              {ROWS.map((row) => (
                <tr key={row.label}>
                  <td>{row.label}</td>
                  {EDITIONS.map((e) => {
                    const value = license.editions?.[e] ? row.show(license.editions[e]) : '—';
                    return (
                      <td key={e} className={e === license.edition ? styles.current : undefined}>
                        {value === true ? <span className={styles.yes}>yes</span> : value === false ? <span className={styles.no}>no</span> : value}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
