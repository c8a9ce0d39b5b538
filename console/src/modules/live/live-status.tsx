'use client';
import { useEvents } from './events-provider';
import styles from './live-status.module.css';

/** Says whether the console follows the fleet live (the event stream is open) or by polling. */
export function LiveStatus() {
  const { connected } = useEvents();
  return (
    <div className={styles.status} data-testid="live-status" data-connected={connected}
      title={connected ? 'Live updates from the controller' : 'Reconnecting; refreshing every few seconds meanwhile'}>
      <span className={connected ? `${styles.dot} ${styles.on}` : styles.dot} aria-hidden />
      {connected ? 'Live' : 'Reconnecting…'}
    </div>
  );
}
