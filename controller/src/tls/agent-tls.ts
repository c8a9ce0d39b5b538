/**
 * TLS for the agents' gRPC endpoint as the rest of the controller sees it: the CA (when TLS is on),
 * the server's credentials, CSR signing at enrollment and renewal, the per-connection check, and
 * revocation when an agent is retired (it listens on the event bus, so retirement needs no TLS code).
 */
import { ServerCredentials } from '@grpc/grpc-js';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { CONFIG, LOGGER } from '../core.module';
import { ValidationError } from '../errors/domain-error';
import { EventBus } from '../events/event-bus';
import { CertificateAuthority, type IssuedAgentCertificate } from './certificate-authority';
import { requireAgentCertificate } from './agent-peer';
import { optionalClientCertificateCredentials } from './static-certificate-provider';
import { grpcTlsMode, type GrpcTlsMode } from './tls-mode';

@Injectable()
export class AgentTls implements OnModuleDestroy {
  readonly mode: GrpcTlsMode;
  private ca?: CertificateAuthority;
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    bus: EventBus,
  ) {
    this.mode = grpcTlsMode(config.host);
    this.unsubscribe = bus.subscribe((event) => {
      const data = event.data as { agentId?: string; retired?: boolean };
      if (event.type !== 'agent' || !data.retired || !data.agentId || !this.ca) return;
      const agentId = data.agentId;
      this.ca.issued.revokeAgent(agentId).then(
        (n) => this.logger.info({ agentId, certificates: n }, 'agent certificates revoked'),
        (err) => this.logger.error({ err, agentId }, 'could not record the revocation of agent certificates'),
      );
    }, { internal: true });
  }

  get enabled(): boolean {
    return this.mode === 'tls';
  }

  /** The server's credentials: TLS with a client certificate asked for but not required (Enroll has none yet). */
  async serverCredentials(): Promise<ServerCredentials> {
    if (!this.enabled) {
      this.logger.warn({ host: this.config.host }, 'gRPC runs WITHOUT TLS: development mode on loopback only, agent credentials travel in plaintext (PORTFLEET_GRPC_INSECURE=0 serves TLS; any other listen address always does)');
      return ServerCredentials.createInsecure();
    }
    const ca = await this.authority();
    const hosts = [this.config.host, hostOf(this.config.publicGrpcUrl)];
    const server = await ca.serverCredentials(hosts);
    // The chain carries the CA too: agents enrolling with a CA fingerprint find it there.
    return optionalClientCertificateCredentials(ca.caPem, `${server.certificatePem}\n${ca.caPem}\n`, server.privateKeyPem);
  }

  /** The CA's SHA-256 fingerprint (hex) the enrollment command pins, or undefined in development mode. */
  async caFingerprint(): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    return (await this.authority()).caCertificate.fingerprint256.replace(/:/g, '').toLowerCase();
  }

  /** Rejects a malformed CSR before anything is stored (the enrollment token stays unused). */
  async checkCsr(csrPem: string | undefined): Promise<void> {
    if (!this.enabled) return;
    if (!csrPem) throw new ValidationError('csr_pem', 'REQUIRED', 'is required: the controller serves TLS and signs the agent certificate at enrollment');
    await CertificateAuthority.checkCsr(csrPem);
  }

  /** Signs the enrollment CSR; without TLS (or without a CSR) there is nothing to sign. */
  async issue(agentId: string, csrPem: string | undefined): Promise<IssuedAgentCertificate | undefined> {
    if (!this.enabled || !csrPem) return undefined;
    return (await this.authority()).signAgentCsr(csrPem, agentId, this.config.agentCertificateLifetimeS);
  }

  /** Throws PeerCertificateError unless the peer holds a valid, unrevoked certificate of `agentId`. */
  async requirePeer(der: Buffer | undefined, agentId: string): Promise<void> {
    if (!this.enabled) return;
    requireAgentCertificate(await this.authority(), der, agentId);
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  private async authority(): Promise<CertificateAuthority> {
    this.ca ??= await CertificateAuthority.open(this.config.dataDir);
    return this.ca;
  }
}

function hostOf(target: string): string {
  const bare = target.replace(/^[a-z]+:\/\//, '');
  return bare.startsWith('[') ? bare.slice(1, bare.indexOf(']')) : bare.replace(/:\d+$/, '');
}
