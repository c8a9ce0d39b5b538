import type { RolloutDraft } from './rollout';
import styles from './pushes.module.css';

/** Staged rollout: cumulative waves in percent and the failure share that halts it. */
export function RolloutOptions({ value, onChange }: { value: RolloutDraft; onChange: (value: RolloutDraft) => void }) {
  return (
    <fieldset style={{ border: 0, padding: 0, margin: 0, display: 'flex', flexDirection: 'column', gap: 8 }}>
      <legend className="label" style={{ marginBottom: 4 }}>Rollout</legend>
      <label style={{ display: 'inline-flex', gap: 6, alignItems: 'center' }}>
        <input type="checkbox" checked={value.staged} onChange={(e) => onChange({ ...value, staged: e.target.checked })} />
        Staged rollout (next wave once the previous one answered)
      </label>
      {value.staged && (
        <div className={styles.row}>
          <label className="field" style={{ flex: '1 1 160px' }}><span>Waves (cumulative %)</span>
            <input className="input" value={value.waves} onChange={(e) => onChange({ ...value, waves: e.target.value })} placeholder="10, 50, 100" /></label>
          <label className="field" style={{ width: 170 }}><span>Halt above failures (%)</span>
            <input className="input" inputMode="numeric" value={value.maxFailurePercent} onChange={(e) => onChange({ ...value, maxFailurePercent: e.target.value })} /></label>
        </div>
      )}
    </fieldset>
  );
}
