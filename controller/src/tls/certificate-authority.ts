/**
 * The controller's own certificate authority (docs/security.md §agent ↔ controller). Created at
 * first start in `<dataDir>/tls` (folder 0700, keys 0600): it signs the gRPC server certificate
 * (re-issued at every start, so a changed host name is picked up) and the agents' client
 * certificates, each bound to one agent id. ECDSA P-256 keys: small, fast, accepted by every TLS stack.
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 providers through tsyringe
import { X509Certificate as NodeCertificate, randomBytes, webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { DEFAULT_AGENT_CERT_LIFETIME_S } from '../config';
import { DomainError } from '../errors/domain-error';
import { IssuedCertificates } from './issued-certificates';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type KeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
const SERVER_DAYS = 365;
/** Backdating for clocks that disagree a little; a tenth of a very short lifetime at most. */
const CLOCK_SKEW_MS = 60_000;
/** Agent certificates carry their id twice: as the subject CN and as this URI in the SAN. */
export const AGENT_URI_PREFIX = 'urn:portfleet:agent:';

/** INVALID_ARGUMENT on the wire, code CSR_INVALID, field csr_pem. */
export class CsrError extends DomainError {
  constructor(reason: string) {
    super('validation', 'CSR_INVALID', reason, 'csr_pem', [{ field: 'csr_pem', code: 'CSR_INVALID', message: reason }]);
  }
}

export interface ServerCredentialsPem {
  caPem: string;
  certificatePem: string;
  privateKeyPem: string;
}

export interface IssuedAgentCertificate {
  certificatePem: string;
  caPem: string;
  serial: string;
  notAfter: Date;
}

export class CertificateAuthority {
  private constructor(
    readonly dir: string,
    private readonly keys: KeyPair,
    private readonly caCert: x509.X509Certificate,
    /** node:crypto's view of the CA certificate, for synchronous checks on every connection. */
    readonly caCertificate: NodeCertificate,
    readonly issued: IssuedCertificates,
  ) {}

  /** Loads the CA from `<dataDir>/tls`, creating it (and the folder) on first start. */
  static async open(dataDir: string): Promise<CertificateAuthority> {
    const dir = path.join(dataDir, 'tls');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const keyFile = path.join(dir, 'ca-key.pem');
    const certFile = path.join(dir, 'ca.pem');
    let keys: KeyPair;
    let cert: x509.X509Certificate;
    const existing = await readFile(keyFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (existing) {
      cert = new x509.X509Certificate(await readFile(certFile, 'utf8'));
      const privateKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(existing), ALGORITHM, false, ['sign']);
      keys = { privateKey, publicKey: await cert.publicKey.export(ALGORITHM, ['verify']) };
      await chmod(keyFile, 0o600); // tightened if someone loosened it
    } else {
      keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as KeyPair;
      const now = Date.now();
      cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(),
        name: 'CN=Portfleet controller CA',
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + CA_DAYS * DAY_MS),
        keys,
        signingAlgorithm: ALGORITHM,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      // The key first, then the certificate: a CA certificate without its key would be useless.
      await writeFile(keyFile, pkcs8Pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600, flag: 'wx' });
      await writeFile(certFile, cert.toString('pem'), { mode: 0o644 });
    }
    const issued = await IssuedCertificates.open(path.join(dir, 'issued.json'));
    return new CertificateAuthority(dir, keys, cert, new NodeCertificate(cert.toString('pem')), issued);
  }

  /** Parses a CSR and checks its proof of possession; throws CsrError (field csr_pem). */
  static async checkCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch {
      throw new CsrError('is not a PEM certificate signing request');
    }
    const alg = csr.publicKey.algorithm as { name?: string };
    if (alg.name !== 'ECDSA' && alg.name !== 'RSASSA-PKCS1-v1_5') throw new CsrError(`key algorithm ${alg.name ?? 'unknown'} is not accepted (ECDSA or RSA)`);
    if (!(await csr.verify().catch(() => false))) throw new CsrError('signature does not match its public key');
    return csr;
  }

  get caPem(): string {
    return this.caCert.toString('pem');
  }

  /** A fresh server key and certificate for the gRPC endpoint; SANs: loopback plus `hosts`. */
  async serverCredentials(hosts: string[]): Promise<ServerCredentialsPem> {
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as KeyPair;
    const names = [...new Set(['127.0.0.1', '::1', 'localhost', ...hosts.filter((h) => h !== '0.0.0.0' && h !== '::')])];
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: 'CN=Portfleet controller',
      issuer: this.caCert.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + SERVER_DAYS * DAY_MS),
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: isIP(n) ? 'ip' : 'dns', value: n }))),
        await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey),
      ],
    });
    return {
      caPem: this.caPem,
      certificatePem: cert.toString('pem'),
      privateKeyPem: pkcs8Pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    };
  }

  /**
   * Signs an agent's CSR into a client certificate for `agentId` (whatever subject the CSR asked
   * for: the controller decides who the holder is). Throws CsrError (field csr_pem) on a CSR that
   * does not parse or whose signature does not match its key (proof of possession).
   */
  async signAgentCsr(csrPem: string, agentId: string, lifetimeS = DEFAULT_AGENT_CERT_LIFETIME_S): Promise<IssuedAgentCertificate> {
    const csr = await CertificateAuthority.checkCsr(csrPem);
    const now = Date.now();
    const notAfter = new Date(now + lifetimeS * 1000);
    const serialNumber = serial();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber,
      subject: `CN=${agentId}`,
      issuer: this.caCert.subject,
      notBefore: new Date(now - Math.min(CLOCK_SKEW_MS, lifetimeS * 100)),
      notAfter,
      publicKey: csr.publicKey,
      signingKey: this.keys.privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `${AGENT_URI_PREFIX}${agentId}` }]),
        await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey),
      ],
    });
    const normalized = new NodeCertificate(cert.toString('pem')).serialNumber;
    await this.issued.record({ serial: normalized, agentId, notAfter: notAfter.toISOString() });
    return { certificatePem: cert.toString('pem'), caPem: this.caPem, serial: normalized, notAfter };
  }
}

/** 16 random bytes, top bit clear so the DER integer stays positive. */
function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x10;
  return b.toString('hex');
}

function pkcs8Pem(der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}
