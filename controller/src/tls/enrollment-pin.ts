/**
 * The `--ca-sha256` an enrollment command carries when the gRPC endpoint serves TLS: the SHA-256
 * of the controller CA, which the agent pins before its token travels (docs/security.md). Read from
 * the CA file so the agents domain needs no TLS service (enrollment tokens are rare).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { grpcTlsMode } from './tls-mode';

export function enrollmentCaPin(dataDir: string, host: string): string | undefined {
  if (grpcTlsMode(host) !== 'tls') return undefined;
  try {
    return new X509Certificate(readFileSync(path.join(dataDir, 'tls', 'ca.pem'))).fingerprint256.replace(/:/g, '').toLowerCase();
  } catch {
    return undefined; // the CA is made when gRPC starts listening: a command from before has no pin
  }
}
