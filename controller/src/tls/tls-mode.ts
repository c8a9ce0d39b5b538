/**
 * Whether the gRPC endpoint serves TLS. Off the loopback it always does: plaintext never leaves the
 * host. On loopback PORTFLEET_GRPC_INSECURE decides: `0` serves TLS, `1` plaintext; unset is
 * plaintext for now (development mode, logged loudly) because the agent CLI does not enroll with a
 * CSR yet — see docs/security.md §rollout. Flip DEFAULT_ON_LOOPBACK once it does.
 */
export const GRPC_INSECURE_ENV = 'PORTFLEET_GRPC_INSECURE';

export type GrpcTlsMode = 'tls' | 'insecure-loopback';

const DEFAULT_ON_LOOPBACK: GrpcTlsMode = 'insecure-loopback';

export class InsecureGrpcRefused extends Error {
  constructor(host: string) {
    super(`${GRPC_INSECURE_ENV}: plaintext gRPC is allowed on loopback only, not on ${host}; unset it to serve TLS`);
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function grpcTlsMode(host: string, env: NodeJS.ProcessEnv = process.env): GrpcTlsMode {
  const value = env[GRPC_INSECURE_ENV];
  if (!isLoopback(host)) {
    if (value === '1') throw new InsecureGrpcRefused(host);
    return 'tls';
  }
  if (value === '1') return 'insecure-loopback';
  if (value === '0') return 'tls';
  return DEFAULT_ON_LOOPBACK;
}
