import { createPublicKey } from 'node:crypto';
import path from 'node:path';
import { LICENSE_PUBLIC_KEY_ENV, licensePublicKey } from '@portfleet/proto';
import { z } from 'zod';

/** The repository root: controller/dist/config.js and controller/src/config.ts both sit two levels below it. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

const port = z.coerce.number().int().min(1).max(65535);

/**
 * Agent client certificates are short-lived on purpose: a stolen one is useful for weeks at most;
 * agents renew at a third left, while they run.
 */
export const DEFAULT_AGENT_CERT_LIFETIME_S = 30 * 86_400;

const schema = z.object({
  PORTFLEET_HTTP_PORT: port.default(8080),
  PORTFLEET_GRPC_PORT: port.default(50051),
  PORTFLEET_HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  PORTFLEET_DATA_DIR: z.string().min(1).default(path.join(REPO_ROOT, '.data', 'controller')),
  PORTFLEET_PG_PORT: port.optional(),
  PORTFLEET_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  PORTFLEET_PUBLIC_GRPC_URL: z.string().min(1).optional(),
  PORTFLEET_BOOTSTRAP_ENROLLMENT_TOKEN: z.string().regex(/^pfe_[A-Za-z0-9_-]{16,}$/, 'must look like pfe_<at least 16 url-safe characters>').optional(),
  /** 10 s at least (tests), a year at most. */
  PORTFLEET_AGENT_CERT_LIFETIME_S: z.coerce.number().int().min(10).max(365 * 86_400).default(DEFAULT_AGENT_CERT_LIFETIME_S),
  PORTFLEET_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  httpPort: number;
  grpcPort: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  pgPort?: number;
  adminPassword?: string;
  /** What enrolling agents dial; defaults to this controller's gRPC address. */
  publicGrpcUrl: string;
  /** An enrollment token registered at start (valid 1 h, one use): npm start enrolls its local agent with it. */
  bootstrapEnrollmentToken?: string;
  logLevel: string;
  /** How long the agent client certificates this controller signs are valid. */
  agentCertificateLifetimeS: number;
  /** Verifies serial keys: the vendor's key, or PORTFLEET_LICENSE_PUBLIC_KEY (PEM) for tests and staging. */
  licensePublicKeyPem: string;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, reason: string) {
    super(`${variable}: ${reason}`);
  }
}

/** Parses the environment once; throws ConfigError naming the first bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const e = result.data;
  const licensePublicKeyPem = licensePublicKey(env);
  try {
    if (createPublicKey(licensePublicKeyPem).asymmetricKeyType !== 'ed25519') throw new Error('not Ed25519');
  } catch {
    throw new ConfigError(LICENSE_PUBLIC_KEY_ENV, 'must be an Ed25519 public key in PEM (SPKI)');
  }
  return {
    httpPort: e.PORTFLEET_HTTP_PORT,
    grpcPort: e.PORTFLEET_GRPC_PORT,
    host: e.PORTFLEET_HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.PORTFLEET_DATA_DIR),
    pgPort: e.PORTFLEET_PG_PORT,
    adminPassword: e.PORTFLEET_ADMIN_PASSWORD,
    publicGrpcUrl: e.PORTFLEET_PUBLIC_GRPC_URL ?? `${e.PORTFLEET_HOST}:${e.PORTFLEET_GRPC_PORT}`,
    bootstrapEnrollmentToken: e.PORTFLEET_BOOTSTRAP_ENROLLMENT_TOKEN,
    logLevel: e.PORTFLEET_LOG_LEVEL,
    agentCertificateLifetimeS: e.PORTFLEET_AGENT_CERT_LIFETIME_S,
    licensePublicKeyPem,
  };
}
