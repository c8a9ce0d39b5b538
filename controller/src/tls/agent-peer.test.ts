import 'reflect-metadata';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CertificateAuthority } from './certificate-authority';
import { PeerCertificateError, requireAgentCertificate, verifyAgentCertificate } from './agent-peer';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function csr(): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=whatever-the-agent-asks', keys, signingAlgorithm: ALG })).toString('pem');
}

const der = (pem: string) => new X509Certificate(pem).raw;

function reason(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof PeerCertificateError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('CertificateAuthority and the agent peer check', () => {
  let dir: string;
  let ca: CertificateAuthority;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pf-ca-'));
    ca = await CertificateAuthority.open(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the CA once (key 0600) and loads the same one again', async () => {
    expect(statSync(path.join(dir, 'tls', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    const again = await CertificateAuthority.open(dir);
    expect(again.caPem).toBe(ca.caPem);
    const issued = await again.signAgentCsr(await csr(), 'agent-1');
    expect(verifyAgentCertificate(again, der(issued.certificatePem))).toBe('agent-1');
    // The registry is read at open: a later open sees what was issued before.
    expect(verifyAgentCertificate(await CertificateAuthority.open(dir), der(issued.certificatePem))).toBe('agent-1');
  });

  it('binds the id the controller chose, whatever the CSR asked for', async () => {
    const issued = await ca.signAgentCsr(await csr(), 'agent-2');
    expect(new X509Certificate(issued.certificatePem).subject).toBe('CN=agent-2');
    expect(reason(() => requireAgentCertificate(ca, der(issued.certificatePem), 'agent-2'))).toBeUndefined();
    expect(reason(() => requireAgentCertificate(ca, der(issued.certificatePem), 'agent-3'))).toBe('WRONG_AGENT');
  });

  it('refuses no certificate, another CA, an unknown serial, an expired and a revoked certificate', async () => {
    expect(reason(() => verifyAgentCertificate(ca, undefined))).toBe('NO_CERTIFICATE');
    const otherDir = mkdtempSync(path.join(tmpdir(), 'pf-ca-other-'));
    try {
      const other = await CertificateAuthority.open(otherDir);
      const foreign = await other.signAgentCsr(await csr(), 'agent-4');
      expect(reason(() => verifyAgentCertificate(ca, der(foreign.certificatePem)))).toBe('NOT_OUR_CA');
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
    const issued = await ca.signAgentCsr(await csr(), 'agent-5');
    expect(reason(() => verifyAgentCertificate(ca, der(issued.certificatePem), new Date(Date.now() + 31 * 86_400_000)))).toBe('EXPIRED');
    const forgotten = await CertificateAuthority.open(dir); // same CA, but a serial it never recorded:
    (forgotten.issued as unknown as { bySerial: Map<string, unknown> }).bySerial.clear();
    expect(reason(() => verifyAgentCertificate(forgotten, der(issued.certificatePem)))).toBe('UNKNOWN_SERIAL');
    expect(await ca.issued.revokeAgent('agent-5')).toBe(1);
    expect(reason(() => verifyAgentCertificate(ca, der(issued.certificatePem)))).toBe('REVOKED');
  });

  it('refuses a CSR that is not one, naming csr_pem', async () => {
    await expect(ca.signAgentCsr('garbage', 'x')).rejects.toMatchObject({ code: 'CSR_INVALID', field: 'csr_pem' });
    // Same structure, one byte of the signed subject changed: the proof of possession fails.
    const bytes = Buffer.from(x509.PemConverter.decodeFirst(await csr()));
    const at = bytes.indexOf('whatever');
    bytes[at] = 'W'.charCodeAt(0);
    const tampered = x509.PemConverter.encode(bytes, 'CERTIFICATE REQUEST');
    await expect(ca.signAgentCsr(tampered, 'x')).rejects.toMatchObject({ field: 'csr_pem' });
  });
});
