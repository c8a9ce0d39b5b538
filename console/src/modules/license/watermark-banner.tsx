'use client';
import Link from 'next/link';
import { EDITION_NAMES } from './edition-names';
import { useLicense } from './license-provider';
import styles from './license.module.css';

/** Shown on every page while the edition carries the watermark (Trial, Basic) or the license expired. */
export function WatermarkBanner() {
  const { license } = useLicense();
  if (!license?.watermark) return null;
  const text =
    license.status === 'expired'
      ? 'The license has expired: rule edits and pushes are blocked until a serial key is activated.'
      : license.status === 'trial'
        ? `Trial edition — ${license.trialDaysLeft ?? 0} ${license.trialDaysLeft === 1 ? 'day' : 'days'} left.`
        : `${license.edition ? EDITION_NAMES[license.edition] : 'Unlicensed'} edition.`;
  return (
    <div className={styles.banner} role="status" data-testid="watermark">
      <span>{text}</span>
      <Link href="/licenses">Activate a serial key</Link>
    </div>
  );
}
