/**
 * Certificate rotation (docs/security.md): when a third of the client certificate's lifetime is
 * left, the agent asks for a new one for a fresh key — Enroll with its own credential as the token,
 * over mutual TLS with the current certificate. The new files replace the old only after the answer
 * checks out, so a failed renewal leaves a working identity behind.
 */
import type { Logger } from 'pino';
import { enroll } from '../client';
import type { Credential } from '../state-store';
import { type AgentTlsFiles, checkIssued, loadTlsFiles, needsRenewal, newKeyAndCsr, saveTlsFiles, tlsChannelCredentials } from './agent-identity';

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
