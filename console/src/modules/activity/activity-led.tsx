import styles from './activity-led.module.css';

/** Lit when the rule (or agent) handled a packet within the last `windowMs`. */
export function ActivityLed({ lastHitAt, windowMs = 10_000 }: { lastHitAt: string | null; windowMs?: number }) {
  const lit = lastHitAt !== null && Date.now() - Date.parse(lastHitAt) < windowMs;
  return (
    <span className={lit ? `${styles.led} ${styles.lit}` : styles.led}
      title={lastHitAt ? `last packet ${new Date(lastHitAt).toLocaleString()}` : 'no packets yet'}
      aria-label={lit ? 'active' : 'idle'} role="img" />
  );
}
