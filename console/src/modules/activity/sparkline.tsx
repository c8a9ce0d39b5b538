import { formatBytes, formatCount } from '@/format/bytes';
import styles from './charts.module.css';

export interface ChartPoint {
  t: string;
  value: number;
}

const W = 320;
const H = 64;

/**
 * A small area chart over time (inline SVG; no chart library). The peak is printed beside it
 * and each bucket has a tooltip.
 */
export function Sparkline({ points, label, unit }: { points: ChartPoint[]; label: string; unit: 'packets' | 'bytes' }) {
  const max = Math.max(0, ...points.map((p) => p.value));
  const fmt = unit === 'bytes' ? formatBytes : formatCount;
  const total = points.reduce((sum, p) => sum + p.value, 0);
  const step = points.length > 1 ? W / (points.length - 1) : W;
  const y = (v: number) => (max === 0 ? H - 1 : H - 1 - (v / max) * (H - 4));
  const line = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const area = points.length > 0 ? `${line} L${((points.length - 1) * step).toFixed(1)},${H} L0,${H} Z` : '';
  return (
    <figure className={styles.chart} data-testid={`chart-${unit}`} data-total={total}>
      <figcaption className={styles.caption}>
        <span>{label}</span>
        <span className="mono">{fmt(total)} <span className="muted">· peak {fmt(max)}/bucket</span></span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className={styles.svg} role="img"
        aria-label={`${label}: ${fmt(total)} in the last ${points.length} buckets`}>
        {area && <path d={area} className={unit === 'bytes' ? styles.areaBytes : styles.areaPackets} />}
        {line && <path d={line} className={unit === 'bytes' ? styles.lineBytes : styles.linePackets} fill="none" vectorEffect="non-scaling-stroke" />}
        {points.map((p, i) => (
          <rect key={p.t} x={i * step - step / 2} y={0} width={step} height={H} fill="transparent">
            <title>{`${new Date(p.t).toLocaleTimeString()}: ${fmt(p.value)}`}</title>
          </rect>
        ))}
      </svg>
    </figure>
  );
}
