/**
 * Who is on the other end of an agent's TLS connection. The gRPC server asks for a client
 * certificate without requiring one (Enroll must work before the agent has one), so every other
 * agent call checks here: a certificate this CA signed, within its validity, known and unrevoked,
 * naming the agent id the bearer credential names.
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { ServerSurfaceCall } from '@grpc/grpc-js/build/src/server-call';
import { DomainError } from '../errors/domain-error';
import { AGENT_URI_PREFIX, type CertificateAuthority } from './certificate-authority';

export type PeerRejection = 'NO_CERTIFICATE' | 'NOT_OUR_CA' | 'EXPIRED' | 'UNKNOWN_SERIAL' | 'REVOKED' | 'WRONG_AGENT';

/** UNAUTHENTICATED on the wire, code CLIENT_CERTIFICATE_<reason>, field client_certificate. */
export class PeerCertificateError extends DomainError {
  constructor(readonly reason: PeerRejection, message: string) {
    super('unauthenticated', `CLIENT_CERTIFICATE_${reason}`, message, 'client_certificate');
  }
}

/** The DER bytes of the client certificate of a call, if the peer sent one. */
export function peerCertificateDer(call: Pick<ServerSurfaceCall, 'getAuthContext'>): Buffer | undefined {
  const cert = call.getAuthContext().sslPeerCertificate as PeerCertificate | undefined;
  return cert?.raw && cert.raw.length > 0 ? cert.raw : undefined;
}

/** The agent id the certificate is bound to; throws PeerCertificateError when it must be refused. */
export function verifyAgentCertificate(ca: CertificateAuthority, der: Buffer | undefined, now = new Date()): string {
  if (!der) throw new PeerCertificateError('NO_CERTIFICATE', 'a client certificate from enrollment is required');
  const cert = new X509Certificate(der);
  if (!cert.checkIssued(ca.caCertificate) || !cert.verify(ca.caCertificate.publicKey)) {
    throw new PeerCertificateError('NOT_OUR_CA', 'the client certificate was not issued by this controller');
  }
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) throw new PeerCertificateError('EXPIRED', 'the client certificate has expired');
  const entry = ca.issued.get(cert.serialNumber);
  if (!entry) throw new PeerCertificateError('UNKNOWN_SERIAL', 'the client certificate is not on record');
  if (entry.revokedAt) throw new PeerCertificateError('REVOKED', 'the client certificate was revoked');
  const uri = /URI:([^,\s]+)/.exec(cert.subjectAltName ?? '')?.[1] ?? '';
  const agentId = uri.startsWith(AGENT_URI_PREFIX) ? uri.slice(AGENT_URI_PREFIX.length) : '';
  if (!agentId || agentId !== entry.agentId) throw new PeerCertificateError('WRONG_AGENT', 'the client certificate names no agent');
  return agentId;
}

/** Like verifyAgentCertificate, and the certificate must name `expectedAgentId` (no agent acts as another). */
export function requireAgentCertificate(ca: CertificateAuthority, der: Buffer | undefined, expectedAgentId: string): void {
  const agentId = verifyAgentCertificate(ca, der);
  if (agentId !== expectedAgentId) throw new PeerCertificateError('WRONG_AGENT', 'the client certificate belongs to another agent');
}
