/**
 * grpc-js asks for a client certificate only when its server credentials have a CA provider:
 * `ServerCredentials.createSsl(ca, pairs, false)` does not even request one, so Connect could
 * never see the agent's certificate. The certificate-provider credentials request it without
 * requiring it (Enroll must work before an agent has one); this provider hands them fixed PEMs.
 */
import { experimental, type ServerCredentials } from '@grpc/grpc-js';

type CaListener = Parameters<experimental.CertificateProvider['addCaCertificateListener']>[0];
type IdentityListener = Parameters<experimental.CertificateProvider['addIdentityCertificateListener']>[0];

/**
 * Listeners are answered on a microtask: grpc-js subscribes to the provider before it registers
 * the server's own watcher, so a synchronous answer would be lost and every handshake dropped.
 */
class StaticCertificateProvider implements experimental.CertificateProvider {
  constructor(
    private readonly ca: Buffer,
    private readonly certificate: Buffer,
    private readonly privateKey: Buffer,
  ) {}
  addCaCertificateListener(listener: CaListener): void {
    queueMicrotask(() => listener({ caCertificate: this.ca }));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: IdentityListener): void {
    queueMicrotask(() => listener({ certificate: this.certificate, privateKey: this.privateKey }));
  }
  removeIdentityCertificateListener(): void {}
}

/** TLS that asks every client for a certificate signed by `caPem` and lets the handlers decide. */
export function optionalClientCertificateCredentials(caPem: string, certificateChainPem: string, privateKeyPem: string): ServerCredentials {
  const provider = new StaticCertificateProvider(Buffer.from(caPem), Buffer.from(certificateChainPem), Buffer.from(privateKeyPem));
  // Same provider for both roles: grpc-js 1.14 passes the two arguments to its constructor swapped.
  return experimental.createCertificateProviderServerCredentials(provider, provider, false);
}
