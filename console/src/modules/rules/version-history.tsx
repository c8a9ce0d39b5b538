'use client';
import { useEffect, useState } from 'react';
import { diffVersions, listVersions } from '@/api/rule-sets';
import type { RuleSetDiff } from '@/api/types';
import { usePolled } from '@/api/use-polled';
import { formatTime } from '@/format/time';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { DiffView } from './diff-view';
import styles from './history.module.css';

/** Every stored version of the rule set; pick two to see what changed between them. */
export function VersionHistory({ ruleSetId, latest }: { ruleSetId: string; latest: number }) {
  const versions = usePolled(() => listVersions(ruleSetId), null, [ruleSetId, latest]);
  const [to, setTo] = useState(latest);
  const [from, setFrom] = useState(Math.max(1, latest - 1));
  const [diff, setDiff] = useState<RuleSetDiff>();
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    setTo(latest);
    setFrom(Math.max(1, latest - 1));
  }, [latest]);

  useEffect(() => {
    let live = true;
    setError(undefined);
    diffVersions(ruleSetId, from, to).then((d) => live && setDiff(d), (e) => live && setError(e));
    return () => { live = false; };
  }, [ruleSetId, from, to]);

  return (
    <section className={`card ${styles.history}`} aria-label="Version history">
      <div className="card-head"><h2>Version history</h2></div>
      <div className={styles.body}>
        <div className={styles.versions}>
          {!versions.data ? (versions.error !== undefined ? <ErrorNotice error={versions.error} /> : <Loading />) : (
            <table className="table" aria-label="Versions">
              <thead><tr><th>Version</th><th>Rules</th><th>By</th><th>When</th><th>Compare</th></tr></thead>
              <tbody>
                {versions.data.map((v) => (
                  <tr key={v.version} className={v.version === to ? styles.selected : undefined}>
                    <td className="mono">v{v.version}</td>
                    <td>{v.ruleCount}</td>
                    <td className="mono">{v.createdBy ?? '—'}</td>
                    <td className="nowrap">{formatTime(v.createdAt)}</td>
                    <td className="nowrap">
                      <label className={styles.pick}><input type="radio" name="from" checked={from === v.version} onChange={() => setFrom(v.version)} aria-label={`From v${v.version}`} /> from</label>
                      <label className={styles.pick}><input type="radio" name="to" checked={to === v.version} onChange={() => setTo(v.version)} aria-label={`To v${v.version}`} /> to</label>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div className={styles.diffPane} data-testid="version-diff">
          <h3>v{from} → v{to}</h3>
          {error !== undefined ? <ErrorNotice error={error} /> : diff ? <DiffView diff={diff} /> : <Loading />}
        </div>
      </div>
    </section>
  );
}
