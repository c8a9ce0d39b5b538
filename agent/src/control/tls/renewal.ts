/**
 * Certificate rotation (docs/security.md): when a third of the client certificate's lifetime is
 * left, the agent asks for a new one for a fresh key — Enroll with its own credential as the token,
 * over mutual TLS with the current certificate. The new files replace the old only after the answer
 * checks out, so a failed renewal leaves a working identity behind. Checked at start and then
 * while the agent runs (an agent that runs for months must not be locked out at its next reconnect).
 */
import type { Logger } from 'pino';
import { enroll } from '../client';
import type { Credential } from '../state-store';
import { type AgentTlsFiles, checkIssued, loadTlsFiles, needsRenewal, newKeyAndCsr, renewalTimes, saveTlsFiles, tlsChannelCredentials } from './agent-identity';

export interface RenewalResult {
  renewed: boolean;
  files: AgentTlsFiles | undefined;
}

export async function renewIfDue(stateDir: string, credential: Credential, hostname: string, now = new Date()): Promise<RenewalResult> {
  const current = await loadTlsFiles(stateDir);
  if (!current || !needsRenewal(current.certificatePem, now)) return { renewed: false, files: current };
  const { keyPem, csrPem } = await newKeyAndCsr(hostname);
  const response = await enroll(
    credential.controller,
    { token: `${credential.agentId}.${credential.credential}`, hostname, platform: '', version: '', csrPem },
    15_000,
    tlsChannelCredentials(current),
  );
  const files = { keyPem, caPem: response.caCertificatePem || current.caPem, certificatePem: response.clientCertificatePem ?? '' };
  checkIssued(files, credential.agentId);
  await saveTlsFiles(stateDir, files);
  return { renewed: true, files };
}

/**
 * The identity `run` starts with: renewed first when due. A controller that cannot be reached now
 * does not stop the agent: it keeps its current certificate and tries again at the next start.
 */
export async function startupTlsFiles(stateDir: string, credential: Credential, hostname: string, log: Logger): Promise<AgentTlsFiles | undefined> {
  try {
    const result = await renewIfDue(stateDir, credential, hostname);
    if (result.renewed) log.info({ event: 'tls.renewed' }, 'client certificate renewed');
    return result.files;
  } catch (error) {
    log.warn({ event: 'tls.renewal_failed', err: error }, 'client certificate renewal failed; keeping the current one');
    return loadTlsFiles(stateDir);
  }
}

/** setTimeout holds at most 2^31-1 ms; a longer wait is taken in steps of a day. */
const MAX_WAIT_MS = 86_400_000;
const MIN_RETRY_MS = 1_000;
const MAX_RETRY_MS = 3_600_000;

/**
 * Renews the running agent's certificate when it falls due and hands the new files to `onRenewed`
 * (the controller link uses them from its next stream on). A failed attempt is retried after a
 * tenth of the time left (between 1 s and 1 h), so the agent keeps trying until its certificate expires.
 */
export class CertificateRenewer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: {
      stateDir: string;
      credential: Credential;
      hostname: string;
      log: Logger;
      /** The identity the agent runs with now. */
      current: AgentTlsFiles;
      onRenewed: (files: AgentTlsFiles) => void;
    },
  ) {}

  start(): void {
    this.schedule(renewalTimes(this.options.current.certificatePem).dueAtMs - Date.now());
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), Math.min(Math.max(delayMs, 0), MAX_WAIT_MS));
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const { stateDir, credential, hostname, log, onRenewed } = this.options;
    let files: AgentTlsFiles | undefined;
    try {
      const result = await renewIfDue(stateDir, credential, hostname);
      files = result.files;
      if (result.renewed && result.files && !this.stopped) {
        log.info({ event: 'tls.renewed' }, 'client certificate renewed');
        onRenewed(result.files);
      }
    } catch (error) {
      files = await loadTlsFiles(stateDir).catch(() => undefined);
      const leftMs = files ? renewalTimes(files.certificatePem).expiresAtMs - Date.now() : 0;
      const retryMs = Math.min(Math.max(leftMs / 10, MIN_RETRY_MS), MAX_RETRY_MS);
      log.warn({ event: 'tls.renewal_failed', err: error, retryInMs: Math.round(retryMs) }, 'client certificate renewal failed; keeping the current one');
      this.schedule(retryMs);
      return;
    }
    if (files) this.schedule(renewalTimes(files.certificatePem).dueAtMs - Date.now());
  }
}
