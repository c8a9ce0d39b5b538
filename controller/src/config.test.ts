import path from 'node:path';
import { VENDOR_LICENSE_PUBLIC_KEY_PEM, generateLicenseKeyPair } from '@portfleet/proto';
import { ConfigError, REPO_ROOT, parseConfig } from './config';

describe('parseConfig', () => {
  it('uses the documented defaults', () => {
    expect(parseConfig({})).toEqual({
      httpPort: 8080,
      grpcPort: 50051,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: path.join(REPO_ROOT, '.data', 'controller'),
      pgPort: undefined,
      adminPassword: undefined,
      publicGrpcUrl: '127.0.0.1:50051',
      bootstrapEnrollmentToken: undefined,
      logLevel: 'info',
      agentCertificateLifetimeS: 30 * 86_400,
      licensePublicKeyPem: VENDOR_LICENSE_PUBLIC_KEY_PEM,
    });
  });

  it('takes an agent certificate lifetime in seconds, from 10 s to a year', () => {
    expect(parseConfig({ PORTFLEET_AGENT_CERT_LIFETIME_S: '3600' }).agentCertificateLifetimeS).toBe(3600);
    expect(() => parseConfig({ PORTFLEET_AGENT_CERT_LIFETIME_S: '5' })).toThrow(/^PORTFLEET_AGENT_CERT_LIFETIME_S: /);
    expect(() => parseConfig({ PORTFLEET_AGENT_CERT_LIFETIME_S: '1.5' })).toThrow(/^PORTFLEET_AGENT_CERT_LIFETIME_S: /);
    expect(() => parseConfig({ PORTFLEET_AGENT_CERT_LIFETIME_S: String(366 * 86_400) })).toThrow(/^PORTFLEET_AGENT_CERT_LIFETIME_S: /);
  });

  it('takes the license public key from PORTFLEET_LICENSE_PUBLIC_KEY and rejects one that is not Ed25519', () => {
    const { publicKeyPem } = generateLicenseKeyPair();
    expect(parseConfig({ PORTFLEET_LICENSE_PUBLIC_KEY: publicKeyPem }).licensePublicKeyPem.trim()).toBe(publicKeyPem.trim());
    expect(() => parseConfig({ PORTFLEET_LICENSE_PUBLIC_KEY: 'not a key' })).toThrow(/PORTFLEET_LICENSE_PUBLIC_KEY: must be an Ed25519/);
  });

  it('reads every variable', () => {
    const c = parseConfig({
      PORTFLEET_HTTP_PORT: '9000',
      PORTFLEET_GRPC_PORT: '9001',
      PORTFLEET_HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://u:p@db:5432/pf',
      PORTFLEET_DATA_DIR: '/var/lib/portfleet',
      PORTFLEET_PG_PORT: '55432',
      PORTFLEET_ADMIN_PASSWORD: 'long enough',
      PORTFLEET_PUBLIC_GRPC_URL: 'fleet.example:443',
    });
    expect(c).toMatchObject({ httpPort: 9000, grpcPort: 9001, host: '0.0.0.0', databaseUrl: 'postgresql://u:p@db:5432/pf', dataDir: '/var/lib/portfleet', pgPort: 55432, publicGrpcUrl: 'fleet.example:443' });
  });

  it.each([
    ['PORTFLEET_HTTP_PORT', '70000'],
    ['PORTFLEET_GRPC_PORT', 'abc'],
    ['DATABASE_URL', 'mysql://x'],
    ['PORTFLEET_ADMIN_PASSWORD', 'short'],
    ['PORTFLEET_LOG_LEVEL', 'loud'],
    ['PORTFLEET_BOOTSTRAP_ENROLLMENT_TOKEN', 'nope'],
  ])('names %s when it is invalid', (variable, value) => {
    expect(() => parseConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: `));
  });
});
