'use client';
import { useState } from 'react';
import { createEnrollmentToken } from '@/api/agents';
import type { EnrollmentToken } from '@/api/types';
import { formatTime } from '@/format/time';
import { ErrorNotice } from '@/ui/error-notice';
import styles from './enrollment-token-panel.module.css';

/** Creates a one-time enrollment token and shows the exact command to run on the new host. */
export function EnrollmentTokenPanel({ primary = false }: { primary?: boolean }) {
  const [token, setToken] = useState<EnrollmentToken>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);

  async function create() {
    setBusy(true);
    setError(undefined);
    setCopied(false);
    try {
      setToken(await createEnrollmentToken());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function copy(command: string) {
    try {
      await navigator.clipboard.writeText(command);
      setCopied(true);
    } catch {
      setCopied(false); // clipboard needs a secure context; the command stays selectable
    }
  }

  return (
    <div className={styles.panel}>
      <button type="button" className={primary ? 'btn btn-primary' : 'btn'} onClick={() => void create()} disabled={busy}>
        {busy ? 'Creating…' : 'Create enrollment token'}
      </button>
      <ErrorNotice error={error} />
      {token && (
        <div className={styles.result} aria-label="Enrollment command">
          <p className={styles.lead}>Run this on the new host (one use, expires {formatTime(token.expiresAt)}):</p>
          <div className={styles.commandRow}>
            <pre className={styles.command} data-testid="enroll-command">{token.command}</pre>
            <button type="button" className="btn btn-small" onClick={() => void copy(token.command)}>
              {copied ? 'Copied' : 'Copy'}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
