/**
 * The agent's TLS identity (docs/security.md §agent ↔ controller): an ECDSA P-256 key made on the
 * host (never leaves it, 0600 in the state folder), a CSR sent with Enroll, and the client
 * certificate + CA certificate the controller answers with. The CA is pinned: the agent trusts only
 * the controller CA it enrolled with, never the system roots.
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 providers through tsyringe
import { X509Certificate, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { DetailedPeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { writeFileAtomic } from '../atomic-file';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
export const KEY_FILE = 'agent-key.pem';
export const CERTIFICATE_FILE = 'agent-cert.pem';
export const CA_FILE = 'controller-ca.pem';

export interface AgentTlsFiles {
  keyPem: string;
  certificatePem: string;
  caPem: string;
}

/** A fresh key pair and a CSR for it (the subject is advisory: the controller binds the agent id). */
export async function newKeyAndCsr(hostname: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${hostname.replace(/[,=+<>#;"\\]/g, '_') || 'agent'}`,
    keys,
    signingAlgorithm: ALGORITHM,
  });
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { keyPem, csrPem: csr.toString('pem') };
}

/**
 * Checks what the controller sent before keeping it: the certificate is signed by the CA, holds our
 * key, and names the agent id we were given. A mismatch means a confused or hostile controller.
 */
export function checkIssued(files: AgentTlsFiles, agentId: string): void {
  const cert = new X509Certificate(files.certificatePem);
  const ca = new X509Certificate(files.caPem);
  if (!cert.verify(ca.publicKey)) throw new Error('client_certificate_pem: not signed by ca_certificate_pem');
  const ours = createPublicKey(createPrivateKey(files.keyPem)).export({ type: 'spki', format: 'der' });
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(ours)) throw new Error('client_certificate_pem: not for the key in our CSR');
  if (!(cert.subjectAltName ?? '').includes(`urn:portfleet:agent:${agentId}`)) throw new Error('client_certificate_pem: does not name this agent');
}

export async function saveTlsFiles(stateDir: string, files: AgentTlsFiles): Promise<void> {
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  // The certificate only after the key: a certificate for a key we lost would lock us out.
  await writeFileAtomic(path.join(stateDir, KEY_FILE), files.keyPem, 0o600);
  await writeFileAtomic(path.join(stateDir, CA_FILE), files.caPem, 0o600);
  await writeFileAtomic(path.join(stateDir, CERTIFICATE_FILE), files.certificatePem, 0o600);
}

/** A re-enrollment without TLS must not leave an identity from another controller behind. */
export async function removeTlsFiles(stateDir: string): Promise<void> {
  await Promise.all([KEY_FILE, CERTIFICATE_FILE, CA_FILE].map((name) => fs.rm(path.join(stateDir, name), { force: true })));
}

/** The stored identity, or undefined when the agent enrolled without TLS (development mode). */
export async function loadTlsFiles(stateDir: string): Promise<AgentTlsFiles | undefined> {
  const read = (name: string) =>
    fs.readFile(path.join(stateDir, name), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  const [keyPem, certificatePem, caPem] = await Promise.all([read(KEY_FILE), read(CERTIFICATE_FILE), read(CA_FILE)]);
  return keyPem && certificatePem && caPem ? { keyPem, certificatePem, caPem } : undefined;
}

/** Mutual TLS to the controller, trusting only its CA. */
export function tlsChannelCredentials(files: AgentTlsFiles): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(files.caPem), Buffer.from(files.keyPem), Buffer.from(files.certificatePem));
}

/** The SHA-256 fingerprint of a CA certificate as the enrollment command shows it: lower-case hex, no colons. */
export function caFingerprint(caPem: string): string {
  return new X509Certificate(caPem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/**
 * The controller's CA for the first Enroll, before the agent has it: the enrollment command carries
 * the CA's SHA-256 fingerprint (like `kubeadm join --discovery-token-ca-cert-hash`). A bare TLS
 * handshake (no request sent) fetches the server's chain; the CA is taken from it only if its
 * fingerprint matches the pin and it signed the server's certificate. The Enroll channel then
 * verifies the server normally against that CA (chain and host name).
 */
export async function fetchPinnedCa(controller: string, caSha256: string, timeoutMs = 10_000): Promise<string> {
  const pin = caSha256.replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase();
  const target = controller.replace(/^(grpc|https?):\/\//, '');
  const ipv6 = /^\[([^\]]+)\]:(\d+)$/.exec(target);
  const [host, port] = ipv6 ? [ipv6[1]!, Number(ipv6[2])] : [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const chain = await new Promise<DetailedPeerCertificate>((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'], ...(isIP(host) ? {} : { servername: host }), timeout: timeoutMs }, () => {
      const cert = socket.getPeerCertificate(true);
      socket.destroy();
      resolve(cert);
    });
    socket.on('timeout', () => socket.destroy(new Error(`controller ${target} did not answer the TLS handshake`)));
    socket.on('error', reject);
  });
  const leaf = new X509Certificate(chain.raw);
  for (let c: DetailedPeerCertificate | undefined = chain.issuerCertificate; c?.raw; c = c.issuerCertificate === c ? undefined : c.issuerCertificate) {
    const ca = new X509Certificate(c.raw);
    if (ca.fingerprint256.replace(/:/g, '').toLowerCase() === pin && ca.ca && leaf.verify(ca.publicKey)) return ca.toString();
  }
  throw new Error(`controller ${target} does not present the CA with fingerprint ${pin}: check the enrollment command`);
}

/** TLS for Enroll: the pinned CA only, no client certificate yet. */
export function enrollChannelCredentials(caPem: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(caPem));
}

/** When to renew (a third of the lifetime left: 10 of 30 days) and when the certificate expires, in ms. */
export function renewalTimes(certificatePem: string): { dueAtMs: number; expiresAtMs: number } {
  const cert = new X509Certificate(certificatePem);
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return { dueAtMs: to - (to - from) / 3, expiresAtMs: to };
}

export function needsRenewal(certificatePem: string, now = new Date()): boolean {
  return now.getTime() >= renewalTimes(certificatePem).dueAtMs;
}
